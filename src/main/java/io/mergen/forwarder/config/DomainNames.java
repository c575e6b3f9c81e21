package io.mergen.forwarder.config;

import static io.mergen.forwarder.config.ConfigException.quote;

import java.util.Locale;

/** Checks and normalises DNS names in the letters-digits-hyphen form that SNI labels are matched against. */
final class DomainNames {

    /** Longest name in text form, without the trailing dot (RFC 1035 section 2.3.4: 255 octets on the wire). */
    static final int MAX_NAME_LENGTH = 253;

    /** Longest label (RFC 1035 section 2.3.4). */
    static final int MAX_LABEL_LENGTH = 63;

    /** Longest domain that still leaves room for a one-character label and its dot. */
    static final int MAX_DOMAIN_LENGTH = MAX_NAME_LENGTH - 2;

    private DomainNames() {
    }

    /**
     * Trims blanks and dots from both ends, lower-cases, and checks every label; returns "" when nothing is left.
     * The exception message is the reason.
     */
    static String normalise(String raw) {
        int start = 0;
        int end = raw.length();
        while (start < end && isBlankOrDot(raw.charAt(start))) {
            start++;
        }
        while (end > start && isBlankOrDot(raw.charAt(end - 1))) {
            end--;
        }
        String name = raw.substring(start, end);
        if (!isAscii(name)) {
            throw new IllegalArgumentException(
                    "not ASCII (expected: letters, digits, hyphens and dots; write IDNs in their xn-- form)");
        }
        name = lowerAscii(name);
        if (name.length() > MAX_DOMAIN_LENGTH) {
            throw new IllegalArgumentException("too long: " + name.length() + " characters (expected: at most "
                    + MAX_DOMAIN_LENGTH + " so that <label>.<domain> fits in " + MAX_NAME_LENGTH + ")");
        }
        if (name.isEmpty()) {
            return name;
        }
        for (String label : name.split("\\.", -1)) {
            if (label.isEmpty()) {
                throw new IllegalArgumentException("empty label in " + quote(name));
            }
            if (!isLdhLabel(label)) {
                throw new IllegalArgumentException("label " + quote(label) + " is not 1.." + MAX_LABEL_LENGTH
                        + " letters, digits and inner hyphens");
            }
        }
        return name;
    }

    /** Whether {@code label} is one LDH label: 1..63 letters, digits or hyphens, no hyphen at either end. */
    static boolean isLdhLabel(String label) {
        int length = label.length();
        if (length == 0 || length > MAX_LABEL_LENGTH || label.charAt(0) == '-' || label.charAt(length - 1) == '-') {
            return false;
        }
        for (int i = 0; i < length; i++) {
            char c = label.charAt(i);
            boolean ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
            if (!ldh) {
                return false;
            }
        }
        return true;
    }

    /** Whether every character is printable ASCII. */
    static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /**
     * Lower-cases a string already known to be ASCII. Checking ASCII first matters: Unicode lower-casing maps
     * for instance the Kelvin sign U+212A to 'k', which would let a non-ASCII name match an ASCII domain.
     */
    static String lowerAscii(String ascii) {
        return ascii.toLowerCase(Locale.ROOT);
    }

    private static boolean isBlankOrDot(char c) {
        return c == '.' || Character.isWhitespace(c);
    }
}

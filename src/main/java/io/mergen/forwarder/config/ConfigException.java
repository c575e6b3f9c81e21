package io.mergen.forwarder.config;

import static java.util.Objects.requireNonNull;

/**
 * Rejects the forwarder's configuration with a one-line message naming the variable and its bad value.
 *
 * <p>The message has the form {@code FWD_X="value": reason}. The value is quoted and escaped, and control or
 * line-separator characters in the reason are escaped too, so the message always prints as a single line.
 */
public final class ConfigException extends RuntimeException {

    private final String variable;
    private final String value;

    public ConfigException(String variable, String value, String reason) {
        requireNonNull(variable, "variable");
        requireNonNull(value, "value");
        requireNonNull(reason, "reason");
        super(variable + '=' + quote(value) + ": " + escapeBreaks(reason));
        this.variable = variable;
        this.value = value;
    }

    /** The environment variable at fault, e.g. {@code FWD_LISTENERS}. */
    public String variable() {
        return variable;
    }

    /** The value that was rejected, as set (or the default when the variable was not set). */
    public String value() {
        return value;
    }

    /** Returns {@code text} in double quotes with quotes, backslashes and invisible characters escaped. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> appendEscaped(out, c);
            }
        }
        return out.append('"').toString();
    }

    private static String escapeBreaks(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            appendEscaped(out, text.charAt(i));
        }
        return out.toString();
    }

    private static void appendEscaped(StringBuilder out, char c) {
        switch (c) {
            case '\n' -> out.append("\\n");
            case '\r' -> out.append("\\r");
            case '\t' -> out.append("\\t");
            default -> {
                if (isInvisible(c)) {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
        }
    }

    // Terminals and log collectors also break lines at U+0085, U+2028 and U+2029, not only at \n.
    private static boolean isInvisible(char c) {
        int type = Character.getType(c);
        return Character.isISOControl(c)
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.FORMAT;
    }
}

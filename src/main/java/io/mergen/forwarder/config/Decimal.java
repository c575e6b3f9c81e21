package io.mergen.forwarder.config;

import java.time.Duration;
import java.util.regex.Pattern;

/** Parses the plain decimal integers of environment values, rejecting signs, fractions and overflow with a reason. */
final class Decimal {

    /**
     * Largest number of seconds accepted for a duration: its milliseconds still fit in an {@code int}, which is
     * what Netty's {@code CONNECT_TIMEOUT_MILLIS} and similar options take.
     */
    static final long MAX_SECONDS = Integer.MAX_VALUE / 1000;

    // ASCII digits only: Long.parseLong would also accept other scripts' digits.
    private static final Pattern DIGITS = Pattern.compile("[0-9]+");
    private static final Pattern NEGATIVE = Pattern.compile("-[0-9]+");
    private static final Pattern FRACTION = Pattern.compile("[+-]?([0-9]+\\.[0-9]*|\\.[0-9]+)");

    private Decimal() {
    }

    /** Parses {@code text} as a decimal integer in {@code min..max}; the exception message is the reason. */
    static long parse(String text, long min, long max) {
        String expected = " (expected: " + min + ".." + max + ")";
        if (text.isEmpty()) {
            throw new IllegalArgumentException("empty" + expected);
        }
        if (DIGITS.matcher(text).matches()) {
            long value;
            try {
                value = Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("too large" + expected);
            }
            if (value < min) {
                throw new IllegalArgumentException("too small" + expected);
            }
            if (value > max) {
                throw new IllegalArgumentException("too large" + expected);
            }
            return value;
        }
        if (NEGATIVE.matcher(text).matches()) {
            throw new IllegalArgumentException("negative" + expected);
        }
        if (FRACTION.matcher(text).matches()) {
            throw new IllegalArgumentException("not a whole number" + expected);
        }
        throw new IllegalArgumentException("not a plain decimal integer" + expected);
    }

    /** Parses a TCP port, 1..65535. */
    static int port(String text) {
        return (int) parse(text, 1, 65535);
    }

    /** Parses a whole number of seconds, {@code minSeconds..MAX_SECONDS}. */
    static Duration seconds(String text, long minSeconds) {
        return Duration.ofSeconds(parse(text, minSeconds, MAX_SECONDS));
    }
}

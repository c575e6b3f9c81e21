package io.mergen.forwarder.config;

import java.util.Locale;

/** Selects how log lines are written: for people on a console, or one JSON object per line for collectors. */
public enum LogFormat {
    CONSOLE,
    JSON;

    /** Parses {@code console} or {@code json}, ignoring case. */
    public static LogFormat parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "console" -> CONSOLE;
            case "json" -> JSON;
            default -> throw new IllegalArgumentException(
                    "unknown log format " + ConfigException.quote(text) + " (expected: console or json)");
        };
    }
}

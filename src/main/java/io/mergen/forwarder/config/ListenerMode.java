package io.mergen.forwarder.config;

import java.util.Locale;

/** Decides whether a listener terminates TLS and routes by SNI, or relays raw bytes. */
public enum ListenerMode {
    /** Terminate TLS with the wildcard certificate and route by the SNI label. */
    TLS,
    /** No TLS and no SNI: relay bytes to the first VM in resolver order. */
    RAW;

    /** Guest port that the original design forwards in raw mode. */
    static final int RAW_TEST_GUEST_PORT = 22;

    /** Parses {@code tls} or {@code raw}, ignoring case. */
    public static ListenerMode parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "tls" -> TLS;
            case "raw" -> RAW;
            default -> throw new IllegalArgumentException(
                    "unknown mode " + ConfigException.quote(text) + " (expected: tls or raw)");
        };
    }

    /**
     * The mode of a listener entry written without a {@code /tls} or {@code /raw} suffix.
     *
     * <p>The design (forwarder-design.md, "Port model") makes {@code :2022=22} "a temporary raw TCP test mode
     * (no TLS/SNI)" and every other listener TLS; the Go forwarder keyed this on the port number. We keep that
     * reading for entries without a suffix so the original {@code FWD_LISTENERS} values mean what they meant,
     * and keep it here only.
     */
    public static ListenerMode defaultFor(int guestPort) {
        return guestPort == RAW_TEST_GUEST_PORT ? RAW : TLS;
    }

    /** The entry suffix for this mode, e.g. {@code /raw}. */
    String suffix() {
        return "/" + name().toLowerCase(Locale.ROOT);
    }
}

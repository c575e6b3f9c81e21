package io.mergen.forwarder.relay;

import java.util.Locale;

/** How a client connection ended, as written in the connection log line. */
public enum Outcome {
    OPEN,
    RELAYING,
    OK,
    CLIENT_CLOSED,
    NO_SNI,
    OUTSIDE_DOMAIN,
    UNKNOWN_VM,
    NO_VM,
    DIAL_FAILED,
    OVERLOADED,
    TOO_MANY_HANDSHAKES,
    NOT_TLS,
    HANDSHAKE_FAILED,
    HANDSHAKE_TIMEOUT,
    IDLE_TIMEOUT,
    CLIENT_ERROR,
    PROTOCOL_ERROR,
    CANCEL_FORWARDED,
    CANCEL_UNKNOWN,
    GUEST_ERROR,
    SHUTDOWN;

    /** A client that never completed its TLS opening (counted as a handshake failure). */
    boolean isHandshakeFailure() {
        return switch (this) {
            case HANDSHAKE_FAILED, HANDSHAKE_TIMEOUT, NOT_TLS, TOO_MANY_HANDSHAKES -> true;
            default -> false;
        };
    }

    /** A client that completed its opening but could not be relayed (counted as a routing failure). */
    boolean isRouteFailure() {
        return switch (this) {
            case NO_SNI, OUTSIDE_DOMAIN, UNKNOWN_VM, NO_VM, DIAL_FAILED, OVERLOADED -> true;
            default -> false;
        };
    }

    /** The lower-case name used in logs, e.g. {@code dial_failed}. */
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }
}

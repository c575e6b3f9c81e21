package io.mergen.forwarder.protocol;

import static java.util.Objects.requireNonNull;

/** Why the forwarder will not relay a connection, and the sentence the client is shown. */
public record Refusal(Reason reason, String message) {

    /** The kinds of refusal a protocol can express differently (an HTTP status, a SQLSTATE). */
    public enum Reason {
        /** The ClientHello named no server. */
        NO_SNI,
        /** The name is outside the served domain or no VM has that label. */
        UNKNOWN_NAME,
        /** The VM exists but could not be dialed. */
        UNREACHABLE,
        /** A connection limit was reached (FWD_MAX_CONNECTIONS, FWD_MAX_CONNECTIONS_PER_VM). */
        OVERLOADED,
    }

    public Refusal {
        requireNonNull(reason, "reason");
        requireNonNull(message, "message");
    }
}

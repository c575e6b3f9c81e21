package io.mergen.forwarder.protocol;

/** Pipeline event: a protocol opening refused the client before TLS (for the connection log). */
public record OpeningRefused(String reason) {
}

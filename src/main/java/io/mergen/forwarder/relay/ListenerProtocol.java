package io.mergen.forwarder.relay;

import io.mergen.forwarder.config.ListenerMode;
import io.mergen.forwarder.config.ListenerSpec;

/** What a listener speaks to its clients, which decides how routing failures reach them. */
enum ListenerProtocol {
    /** TLS to an HTTP guest (guest port 443): failures are short HTTP responses, as the original forwarder sent. */
    HTTPS,
    /** TLS around any other stream (Postgres, Redis, Kafka): never write HTTP into it; failures are TLS alerts or a close. */
    TLS_STREAM,
    /** Plain TCP to the first VM, no TLS and no SNI. */
    RAW;

    private static final int HTTPS_GUEST_PORT = 443;

    static ListenerProtocol of(ListenerSpec spec) {
        if (spec.mode() == ListenerMode.RAW) {
            return RAW;
        }
        return spec.guestPort() == HTTPS_GUEST_PORT ? HTTPS : TLS_STREAM;
    }
}

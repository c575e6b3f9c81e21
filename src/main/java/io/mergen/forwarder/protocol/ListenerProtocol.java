package io.mergen.forwarder.protocol;

import io.mergen.forwarder.config.ListenerMode;
import io.mergen.forwarder.config.ListenerOption;
import io.mergen.forwarder.config.ListenerSpec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.List;
import java.util.Optional;

/**
 * What a listener speaks to its clients inside TLS, which decides how it opens (Postgres negotiates TLS in
 * clear text first), which ALPN protocols it offers, and how a refusal reaches the client.
 *
 * <p>The protocol follows the guest port, as in the design's port model: 443 HTTPS, 5432 Postgres, 6379
 * Redis, 9092 Kafka; any other TLS listener is an opaque stream.
 */
public enum ListenerProtocol {
    /** HTTP inside TLS: refusals are short HTTP responses, as the original forwarder sent. */
    HTTPS,
    /** Postgres: SSLRequest or direct TLS; refusals are ErrorResponse messages psql prints. */
    POSTGRES,
    /** Redis (RESP): refusals are RESP errors redis-cli prints. */
    REDIS,
    /** Kafka: its errors are per request type, so an unknown name gets a TLS alert and nothing else. */
    KAFKA,
    /** Any other stream in TLS: never write bytes of our own into it; refuse with a TLS alert. */
    TLS_STREAM,
    /** Plain TCP to the first VM, no TLS and no SNI. */
    RAW;

    public static ListenerProtocol of(ListenerSpec spec) {
        if (spec.mode() == ListenerMode.RAW) {
            return RAW;
        }
        return switch (spec.guestPort()) {
            case 443 -> HTTPS;
            case 5432 -> POSTGRES;
            case 6379 -> REDIS;
            case 9092 -> KAFKA;
            default -> TLS_STREAM;
        };
    }

    /**
     * Whether a name this listener cannot route is refused during the handshake with an
     * {@code unrecognized_name} alert; the others finish the handshake so they can say why in-band.
     */
    public boolean refusesBeforeHandshake() {
        return this == KAFKA || this == TLS_STREAM;
    }

    /** ALPN protocols to offer, most preferred first; empty means offer none. */
    public List<String> alpn(ListenerSpec spec) {
        return switch (this) {
            // An HTTP/1.1 guest must never be handed an h2 client, so h2 is opt-in per listener.
            case HTTPS -> spec.has(ListenerOption.H2) ? List.of("h2", "http/1.1") : List.of();
            // libpq 17's direct TLS (sslnegotiation=direct) requires the server to select "postgresql".
            case POSTGRES -> List.of("postgresql");
            default -> List.of();
        };
    }

    /** The bytes that tell a client why it is refused, or empty when this protocol has no way to say it. */
    public Optional<ByteBuf> refusal(ByteBufAllocator alloc, Refusal refusal) {
        return switch (this) {
            case HTTPS -> Optional.of(HttpsRefusal.encode(alloc, refusal));
            case POSTGRES -> Optional.of(PostgresMessages.refusal(alloc, refusal));
            case REDIS -> Optional.of(RedisRefusal.encode(alloc, refusal));
            case KAFKA, TLS_STREAM, RAW -> Optional.empty();
        };
    }
}

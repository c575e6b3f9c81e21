package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/** A RESP simple error ({@code -ERR ...\r\n}), which redis-cli prints as {@code (error) ERR ...}. */
final class RedisRefusal {
    private RedisRefusal() {
    }

    static ByteBuf encode(ByteBufAllocator alloc, Refusal refusal) {
        // A simple error ends at the first CR or LF, so the message must hold none.
        String line = "-ERR " + refusal.message().replaceAll("[\\r\\n]+", " ") + "\r\n";
        return alloc.buffer(line.length()).writeBytes(line.getBytes(StandardCharsets.UTF_8));
    }
}

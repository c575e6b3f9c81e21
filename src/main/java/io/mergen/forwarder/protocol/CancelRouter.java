package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;

/** Sends a Postgres CancelRequest on to the VM that issued its key; implemented where dialing lives. */
@FunctionalInterface
public interface CancelRouter {
    /**
     * Takes ownership of {@code request} (the whole packet) and closes the client's connection when done,
     * whether or not the key was known: a cancel gets no reply in Postgres.
     */
    void route(ChannelHandlerContext ctx, byte[] key, ByteBuf request);
}

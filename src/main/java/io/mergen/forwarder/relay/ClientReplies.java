package io.mergen.forwarder.relay;

import io.mergen.forwarder.protocol.ListenerProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;

import java.util.Optional;

/** Tells a client that its connection will not be relayed, in the form its protocol can show. */
final class ClientReplies {
    private ClientReplies() {
    }

    static void refuse(ChannelHandlerContext ctx, ListenerProtocol protocol, RouteFailure failure) {
        if (!ctx.channel().isActive()) {
            return;
        }
        Optional<ByteBuf> reply = protocol.refusal(ctx.alloc(), failure.refusal());
        if (reply.isEmpty()) {
            // No in-band way to say it (Kafka, opaque streams, raw): TLS close_notify, then close.
            ctx.close();
            return;
        }
        ctx.pipeline().replace(ctx.handler(), "linger", new LingeringClose());
        ctx.channel().writeAndFlush(reply.get()).addListener(LingeringClose.SHUT_OUTPUT);
    }
}

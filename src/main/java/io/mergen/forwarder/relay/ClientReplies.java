package io.mergen.forwarder.relay;

import io.netty.channel.ChannelHandlerContext;

/** Tells a client that its connection will not be relayed, in the form its protocol can show. */
final class ClientReplies {
    private ClientReplies() {
    }

    static void refuse(ChannelHandlerContext ctx, ListenerProtocol protocol, RouteFailure failure) {
        if (!ctx.channel().isActive()) {
            return;
        }
        switch (protocol) {
            case HTTPS -> {
                ctx.pipeline().replace(ctx.handler(), "linger", new LingeringClose());
                ctx.channel().writeAndFlush(HttpsErrorResponse.encode(ctx.alloc(), failure))
                        .addListener(LingeringClose.SHUT_OUTPUT);
            }
            // Never write HTTP into a Postgres, Redis or Kafka stream; the TLS close_notify says goodbye.
            case TLS_STREAM, RAW -> ctx.close();
        }
    }
}

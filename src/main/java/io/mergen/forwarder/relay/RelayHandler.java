package io.mergen.forwarder.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies what one side reads to the other side, pausing reads while the other side cannot keep up.
 *
 * <p>Backpressure follows Envoy's watermarks: when the peer's outbound buffer passes its high water
 * mark the peer turns unwritable and this side stops reading; the peer's handler turns reading back on
 * when it drains below the low mark. Memory per connection is thereby bounded by the water marks plus
 * one read.
 */
final class RelayHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(RelayHandler.class);

    private final Relay relay;
    private final boolean clientSide;

    RelayHandler(Relay relay, boolean clientSide) {
        this.relay = relay;
        this.clientSide = clientSide;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // The guest channel was added before it connected; the connector starts the reads itself.
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel peer = relay.peerOf(ctx.channel());
        if (!(msg instanceof ByteBuf buf) || !peer.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        int bytes = buf.readableBytes();
        if (clientSide) {
            relay.countFromClient(bytes);
        } else {
            relay.countToClient(bytes);
        }
        // A void promise routes a failed write to the peer's exceptionCaught, which aborts both sides.
        peer.write(buf, peer.voidPromise());
        if (!peer.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        relay.peerOf(ctx.channel()).flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Channel peer = relay.peerOf(ctx.channel());
        // A closed peer's socket is gone from epoll; changing its read interest would fail.
        if (ctx.channel().isWritable() && peer.isActive()) {
            peer.config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent
                || evt instanceof SslCloseCompletionEvent close && close.isSuccess()) {
            relay.inputEnded(ctx.channel());
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Relay.closeOnFlush(relay.peerOf(ctx.channel()));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Outcome outcome = clientSide ? Outcome.CLIENT_ERROR : Outcome.GUEST_ERROR;
        relay.facts().end(outcome, String.valueOf(cause.getMessage()));
        log.debug("relay {} side failed: {}", clientSide ? "client" : "guest", cause.toString());
        relay.abort();
    }
}

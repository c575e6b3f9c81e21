package io.mergen.forwarder.relay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * Closes a connection after a final response without losing that response.
 *
 * <p>Closing a socket that still has unread request bytes makes the kernel send a reset, which can
 * overtake the response in the client's receive path. So, as nginx's lingering close does, we send the
 * response and our close_notify and FIN, then read and discard until the client closes or a short
 * timer fires.
 */
final class LingeringClose extends ChannelInboundHandlerAdapter {
    private static final long LINGER_MILLIS = 2_000;

    /** After the response is written: close_notify, then the FIN. */
    static final ChannelFutureListener SHUT_OUTPUT = f -> {
        if (!f.isSuccess()) {
            f.channel().close();
            return;
        }
        SslHandler tls = f.channel().pipeline().get(SslHandler.class);
        if (tls != null) {
            tls.closeOutbound().addListener(closed -> shutdownOutput(f.channel()));
        } else {
            shutdownOutput(f.channel());
        }
    };

    private ScheduledFuture<?> timer;

    private static void shutdownOutput(Channel channel) {
        if (channel instanceof DuplexChannel duplex && channel.isActive()) {
            OutputShutdown.shutdown(duplex);
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        timer = ctx.executor().schedule(() -> ctx.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
        ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        timer.cancel(false);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            ctx.close();
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}

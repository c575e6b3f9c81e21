package io.mergen.forwarder.relay;

import io.mergen.forwarder.protocol.NotTls;
import io.mergen.forwarder.protocol.TlsAlert;
import io.mergen.forwarder.resolver.Route;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;

import java.util.List;
import java.util.Optional;

/**
 * Reads the server name from the ClientHello, routes it, and steps aside for the TLS handshake.
 *
 * <p>Routing happens before the handshake so that an opaque stream listener (Kafka) can refuse an unknown
 * name with an {@code unrecognized_name} alert instead of completing a handshake it cannot serve. HTTPS,
 * Postgres and Redis complete the handshake, because their clients can show an in-band error.
 */
final class ServerNameRouter extends AbstractSniHandler<Route> {
    /** Larger than any ClientHello seen in practice (post-quantum key shares included), small enough to bound memory. */
    private static final int MAX_CLIENT_HELLO_LENGTH = 64 * 1024;

    private final ListenerContext listener;
    /** Refused already: Netty decodes again on close, and a refused client must not be decided twice. */
    private boolean refused;

    ServerNameRouter(ListenerContext listener) {
        super(MAX_CLIENT_HELLO_LENGTH, listener.handshakeTimeout().toMillis());
        this.listener = listener;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (NotTls.isNotTls(in)) {
            rejectNotTls(ctx, in);
            return;
        }
        super.decode(ctx, in, out);
    }

    /** Plain HTTP, an SSH banner or noise where a ClientHello belongs: say so in the log, and in HTTP if it was HTTP. */
    private void rejectNotTls(ChannelHandlerContext ctx, ByteBuf in) {
        refused = true;
        ConnectionFacts.of(ctx.channel()).end(Outcome.NOT_TLS, NotTls.describe(in));
        Optional<ByteBuf> reply = NotTls.reply(listener.protocol(), in, ctx.alloc());
        in.skipBytes(in.readableBytes());
        ctx.channel().config().setAutoRead(false);
        if (reply.isPresent()) {
            ctx.writeAndFlush(reply.get()).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    @Override
    protected Future<Route> lookup(ChannelHandlerContext ctx, String hostname) {
        ConnectionFacts.of(ctx.channel()).serverName(hostname);
        return ctx.executor().newSucceededFuture(listener.resolver().route(hostname));
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<Route> future) {
        Route route = future.getNow();
        if (listener.protocol().refusesBeforeHandshake()) {
            if (ConnectionFacts.of(ctx.channel()).isOverloaded()) {
                refuse(ctx, RouteFailure.overloaded(), TlsAlert.INTERNAL_ERROR);
                return;
            }
            if (!(route instanceof Route.Found)) {
                refuse(ctx, BackendConnector.failureOf(route, listener), TlsAlert.UNRECOGNIZED_NAME);
                return;
            }
        }
        SslHandler tls = listener.tls().newHandler(hostname, route instanceof Route.Found, ctx.alloc());
        tls.setHandshakeTimeoutMillis(listener.handshakeTimeout().toMillis());
        // Replacing hands the ClientHello bytes we buffered to the SslHandler, as Netty's SniHandler does.
        ctx.pipeline().replace(this, "tls", tls);
        ctx.pipeline().fireUserEventTriggered(new RouteDecided(route));
    }

    private void refuse(ChannelHandlerContext ctx, RouteFailure failure, int alert) {
        refused = true;
        ConnectionFacts.of(ctx.channel()).end(failure.outcome(), failure.message());
        ctx.writeAndFlush(TlsAlert.fatal(ctx.alloc(), alert)).addListener(ChannelFutureListener.CLOSE);
    }
}

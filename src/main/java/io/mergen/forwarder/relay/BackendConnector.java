package io.mergen.forwarder.relay;

import io.mergen.forwarder.config.ListenerOption;
import io.mergen.forwarder.netns.DialException;
import io.mergen.forwarder.protocol.BackendKeySniffer;
import io.mergen.forwarder.protocol.CancelKeys;
import io.mergen.forwarder.protocol.ListenerProtocol;
import io.mergen.forwarder.protocol.OpeningRefused;
import io.mergen.forwarder.protocol.ProxyHeader;
import io.mergen.forwarder.resolver.Route;
import io.mergen.forwarder.resolver.VmRoute;
import io.mergen.forwarder.tls.HandshakeKind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;

/**
 * Dials the chosen VM inside its namespace once the client is ready, then hands the connection to the relay.
 *
 * <p>On a TLS listener it waits for the handshake to finish; on a raw listener it dials as soon as the client
 * connects, because SSH and similar protocols wait for the server to speak first. Bytes the client sends
 * while the dial is in flight are held here and written to the guest first; reads go on during the dial (pausing
 * and resuming them costs two epoll_ctl calls per connection) until the held bytes reach the connection's buffer
 * size. This handler removes itself when the relay is in place.
 */
final class BackendConnector extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(BackendConnector.class);

    private final ListenerContext listener;
    /** This client's place among the handshakes in progress from its address; freed when the handshake ends. */
    private final ConnectionLimits.Slot handshake;
    private final ArrayDeque<ByteBuf> early = new ArrayDeque<>();
    private long earlyBytes;
    private Route route;
    /** The client finished sending before the guest answered; the relay must pass that on once it exists. */
    private boolean clientInputEnded;
    private boolean dialing;

    BackendConnector(ListenerContext listener, ConnectionLimits.Slot handshake) {
        this.listener = listener;
        this.handshake = handshake;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (listener.protocol() == ListenerProtocol.RAW) {
            Optional<VmRoute> first = listener.resolver().current().first();
            if (ConnectionFacts.of(ctx.channel()).isOverloaded()) {
                fail(ctx, RouteFailure.overloaded());
            } else if (first.isEmpty()) {
                fail(ctx, RouteFailure.noVm());
            } else {
                dial(ctx, first.get(), first.get().shortId());
            }
        }
        ctx.fireChannelActive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        switch (evt) {
            case RouteDecided decided -> route = decided.route();
            case SniCompletionEvent sni when !sni.isSuccess() -> handshakeFailed(ctx, sni.cause());
            case SslHandshakeCompletionEvent done when !done.isSuccess() -> handshakeFailed(ctx, done.cause());
            case SslHandshakeCompletionEvent done -> routeAfterHandshake(ctx);
            case OpeningRefused refused -> ConnectionFacts.of(ctx.channel()).end(Outcome.PROTOCOL_ERROR, refused.reason());
            case ChannelInputShutdownEvent ended -> clientInputEnded(ctx);
            case SslCloseCompletionEvent closed when closed.isSuccess() -> clientInputEnded(ctx);
            default -> ctx.fireUserEventTriggered(evt);
        }
    }

    /**
     * The client sent its FIN (or close_notify). While a dial is in flight the relay passes it on later; before
     * that, the client left in the middle of its handshake and holds nothing worth keeping.
     */
    private void clientInputEnded(ChannelHandlerContext ctx) {
        clientInputEnded = true;
        if (!dialing) {
            ConnectionFacts.of(ctx.channel()).end(Outcome.CLIENT_CLOSED, "client closed before its TLS opening completed");
            ctx.close();
        }
    }

    private void routeAfterHandshake(ChannelHandlerContext ctx) {
        handshake.release();
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (tls != null) {
            listener.metrics().handshakeCompleted(HandshakeKind.of(tls.engine()).label());
        }
        if (ConnectionFacts.of(ctx.channel()).isOverloaded()) {
            fail(ctx, RouteFailure.overloaded());
            return;
        }
        switch (route) {
            case Route.Found found -> dial(ctx, found.vm(), found.label());
            case null -> fail(ctx, RouteFailure.noSni());
            default -> fail(ctx, failureOf(route, listener));
        }
    }

    /** The client-visible failure for a route that names no VM. */
    static RouteFailure failureOf(Route route, ListenerContext listener) {
        return switch (route) {
            case Route.NoSni ignored -> RouteFailure.noSni();
            case Route.OutsideDomain outside -> RouteFailure.outsideDomain(
                    outside.serverName(), listener.domain());
            case Route.UnknownLabel unknown -> RouteFailure.unknownVm(unknown.label());
            case Route.Found found -> throw new IllegalArgumentException("route found: " + found);
        };
    }

    private void dial(ChannelHandlerContext ctx, VmRoute vm, String vmName) {
        Channel client = ctx.channel();
        ConnectionFacts facts = ConnectionFacts.of(client);
        InetSocketAddress target = new InetSocketAddress(vm.guestIp(), vm.guestPort(listener.spec().guestPort()));
        facts.vm(vm.id(), vm.netns(), target);
        ConnectionLimits.Slot vmSlot = listener.limits().acquireVm(vm.id());
        if (vmSlot == null) {
            listener.metrics().limitHit("max_connections_per_vm");
            fail(ctx, RouteFailure.vmBusy(vmName));
            return;
        }
        client.closeFuture().addListener(f -> vmSlot.release());
        dialing = true;

        long dialStart = System.nanoTime();
        Future<Channel> dialed = listener.dialer().dial(
                client.eventLoop(), vm.netns(), target, listener.dialTimeout(), new GuestPlaceholder());
        dialed.addListener(f -> {
            listener.metrics().dialed(Duration.ofNanos(System.nanoTime() - dialStart));
            if (f.isSuccess()) {
                connected(ctx, (Channel) f.getNow(), vm);
            } else {
                // The connection's log line carries the reason, with the VM, namespace and target.
                fail(ctx, RouteFailure.dialFailed(vmName, reasonOf(f.cause())));
            }
        });
    }

    private void connected(ChannelHandlerContext ctx, Channel guest, VmRoute vm) {
        Channel client = ctx.channel();
        if (!client.isActive()) {
            guest.close();
            return;
        }
        ConnectionFacts facts = ConnectionFacts.of(client);
        // Take the held bytes before this handler leaves: its removal releases whatever is still held.
        ArrayDeque<ByteBuf> held = new ArrayDeque<>(early);
        early.clear();
        earlyBytes = 0;
        Relay relay = new Relay(client, guest, facts, listener.metrics().bytes(facts.listener(), vm.id()),
                listener.idleTimeout());
        listener.metrics().vmConnected(vm.id());
        client.closeFuture().addListener(f -> listener.metrics().vmDisconnected(vm.id()));
        guest.config().setWriteBufferWaterMark(listener.limits().waterMark());
        guest.pipeline().replace(GuestPlaceholder.class, "relay", new RelayHandler(relay, false));
        if (listener.protocol() == ListenerProtocol.POSTGRES) {
            guest.pipeline().addBefore("relay", "pg-keys", new BackendKeySniffer(listener.cancelKeys(),
                    new CancelKeys.Target(vm.id(), vm.netns(), facts.target())));
        }
        ctx.pipeline().replace(this, "relay", new RelayHandler(relay, true));
        facts.relaying();
        relay.start();
        if (listener.spec().has(ListenerOption.PROXY)) {
            // Before any client byte: the guest reads who the client really is first.
            guest.write(ProxyHeader.encode(guest.alloc(), (InetSocketAddress) client.remoteAddress(),
                    (InetSocketAddress) client.localAddress(), facts.serverName()), guest.voidPromise());
        }
        for (ByteBuf buf : held) {
            relay.countFromClient(buf.readableBytes());
            guest.write(buf, guest.voidPromise());
        }
        guest.flush();
        guest.config().setAutoRead(true);
        client.config().setAutoRead(true);
        if (!guest.isActive()) {
            // Reset before its relay handler was in place: that handler never saw it go inactive.
            relay.closeBoth();
        } else if (clientInputEnded) {
            relay.inputEnded(client);
        }
    }

    private void handshakeFailed(ChannelHandlerContext ctx, Throwable cause) {
        handshake.release();
        Outcome outcome = cause instanceof SslHandshakeTimeoutException
                ? Outcome.HANDSHAKE_TIMEOUT : Outcome.HANDSHAKE_FAILED;
        ConnectionFacts.of(ctx.channel()).end(outcome, String.valueOf(cause.getMessage()));
        ctx.close();
    }

    private void fail(ChannelHandlerContext ctx, RouteFailure failure) {
        ConnectionFacts.of(ctx.channel()).end(failure.outcome(), failure.message());
        ClientReplies.refuse(ctx, listener.protocol(), failure);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && ctx.channel().isActive()) {
            early.add(buf);
            earlyBytes += buf.readableBytes();
            if (earlyBytes >= listener.limits().waterMark().high()) {
                ctx.channel().config().setAutoRead(false); // the relay turns reading back on
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ConnectionFacts.of(ctx.channel()).end(Outcome.CLIENT_ERROR, String.valueOf(cause.getMessage()));
        log.debug("client {} failed before relaying: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        handshake.release();
        // Anything still held belongs to a connection that will not be relayed.
        early.forEach(ReferenceCountUtil::release);
        early.clear();
    }

    static String reasonOf(Throwable cause) {
        if (cause instanceof DialException) {
            return cause.getMessage();
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    /** Holds the guest channel's place until the relay is built; the guest reads nothing before that. */
    private static final class GuestPlaceholder extends ChannelInboundHandlerAdapter {
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.config.ListenerSpec;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.netns.Transport;
import io.mergen.forwarder.protocol.CancelKeys;
import io.mergen.forwarder.protocol.ListenerProtocol;
import io.mergen.forwarder.relay.ActiveConnections;
import io.mergen.forwarder.relay.ConnectionLimits;
import io.mergen.forwarder.relay.ConnectionLog;
import io.mergen.forwarder.relay.ForwarderInitializer;
import io.mergen.forwarder.relay.ListenerContext;
import io.mergen.forwarder.resolver.VmResolver;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The running forwarder: one event loop group, one server channel per listener, and a graceful stop that
 * lets open connections finish before it closes what is left.
 */
public final class Forwarder implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Forwarder.class);

    private final ForwarderConfig config;
    private final VmResolver resolver;
    private final Function<List<String>, SslContext> tls;
    private final CancelKeys cancelKeys = new CancelKeys();
    private final ConnectionLimits limits;
    private final Transport transport;
    private final NamespaceDialer dialer;
    private final ActiveConnections connections = new ActiveConnections();
    private final ConnectionLog connectionLog = new ConnectionLog();
    private final List<Channel> servers = new ArrayList<>();
    private final String tlsProvider;
    private EventLoopGroup loops;

    Forwarder(ForwarderConfig config, VmResolver resolver, Function<List<String>, SslContext> tls,
              Transport transport, NamespaceDialer dialer, String tlsProvider) {
        this.config = config;
        this.resolver = resolver;
        this.tls = tls;
        this.transport = transport;
        this.dialer = dialer;
        this.tlsProvider = tlsProvider;
        this.limits = new ConnectionLimits(config.limits());
    }

    /** Loads the routes and binds every listener; throws when one cannot be bound, after closing the ones that were. */
    public void start() throws InterruptedException {
        resolver.start();
        loops = transport.newEventLoopGroup(Runtime.getRuntime().availableProcessors(), "fwd-loop");
        startAllThreads(loops);
        try {
            for (ListenerSpec spec : config.listeners()) {
                servers.add(bind(spec));
            }
        } catch (RuntimeException | InterruptedException e) {
            close();
            throw e;
        }
        log.atInfo().setMessage("mergen-forwarder started")
                .addKeyValue("domain", config.domain().domain())
                .addKeyValue("vms", resolver.current().vms().size())
                .addKeyValue("transport", transport.name())
                .addKeyValue("tls", tlsProvider)
                .log();
    }

    VmResolver resolver() {
        return resolver;
    }

    /**
     * A thread inherits the network namespace of the thread that starts it. Netty starts loop threads
     * lazily, so we start them all now, from the host namespace, before any dial switches namespaces.
     */
    private static void startAllThreads(EventLoopGroup group) throws InterruptedException {
        List<Future<?>> started = new ArrayList<>();
        group.forEach(loop -> started.add(loop.submit(() -> { })));
        for (Future<?> f : started) {
            f.await();
        }
    }

    private Channel bind(ListenerSpec spec) throws InterruptedException {
        ListenerProtocol protocol = ListenerProtocol.of(spec);
        Supplier<SslContext> listenerTls = protocol == ListenerProtocol.RAW
                ? null : () -> tls.apply(protocol.alpn(spec));
        ListenerContext context = new ListenerContext(spec, config.domain().domain(), resolver, dialer, listenerTls,
                config.dialTimeout(), config.handshakeTimeout(), config.idleTimeout(), cancelKeys, limits);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loops)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, limits.waterMark())
                .childHandler(new ForwarderInitializer(context, connections, connectionLog));
        InetSocketAddress address = spec.bindAddress();
        var bound = bootstrap.bind(address).await();
        if (!bound.isSuccess()) {
            throw new ListenerBindException(spec, bound.cause());
        }
        Channel server = bound.channel();
        log.atInfo().setMessage("listening")
                .addKeyValue("listenAddr", spec.text())
                .addKeyValue("boundAddr", NetUtil.toSocketAddressString((InetSocketAddress) server.localAddress()))
                .addKeyValue("mode", spec.mode().name().toLowerCase(Locale.ROOT))
                .addKeyValue("guestPort", spec.guestPort())
                .log();
        return server;
    }

    /** The addresses actually bound, in listener order (port 0 in the config becomes a real port here). */
    public List<InetSocketAddress> boundAddresses() {
        return servers.stream().map(ch -> (InetSocketAddress) ch.localAddress()).toList();
    }

    public int activeConnections() {
        return connections.count();
    }

    /** Stops accepting, waits up to {@code grace} for open connections to finish, then closes the rest. */
    public void shutdown(Duration grace) throws InterruptedException {
        for (Channel server : servers) {
            server.close().await();
        }
        int open = connections.count();
        if (open > 0) {
            log.info("stopped accepting; waiting up to {}s for {} open connection(s)", grace.toSeconds(), open);
        }
        if (!connections.awaitDrained(grace)) {
            log.warn("closing {} connection(s) still open after {}s", connections.count(), grace.toSeconds());
            connections.closeAll();
        }
        close();
    }

    @Override
    public void close() {
        servers.forEach(Channel::close);
        if (loops != null) {
            loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        // After the loops: no dial is in flight once they have stopped.
        dialer.close();
        resolver.close();
    }

    /** A listener address could not be bound (in use, not local, no permission). */
    public static final class ListenerBindException extends RuntimeException {
        ListenerBindException(ListenerSpec spec, Throwable cause) {
            super("cannot listen on " + spec.text() + ": " + cause.getMessage(), cause);
        }
    }
}

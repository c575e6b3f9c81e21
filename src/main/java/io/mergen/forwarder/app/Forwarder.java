package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.admin.AdminModel;
import io.mergen.forwarder.admin.AdminServer;
import io.mergen.forwarder.config.ListenerSpec;
import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.netns.Transport;
import io.mergen.forwarder.protocol.CancelKeys;
import io.mergen.forwarder.protocol.ListenerProtocol;
import io.mergen.forwarder.relay.ActiveConnections;
import io.mergen.forwarder.relay.ConnectionLimits;
import io.mergen.forwarder.relay.ConnectionLog;
import io.mergen.forwarder.relay.ConnectionSnapshot;
import io.mergen.forwarder.relay.ForwarderInitializer;
import io.mergen.forwarder.relay.ListenerContext;
import io.mergen.forwarder.relay.TlsSelector;
import io.mergen.forwarder.resolver.VmResolver;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The running forwarder: one event loop group, one server channel per listener, and a graceful stop that
 * lets open connections finish before it closes what is left.
 */
public final class Forwarder implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Forwarder.class);

    private final ForwarderConfig config;
    private final VmResolver resolver;
    /** Empty when every listener is raw. */
    private final Optional<TlsContexts> tls;
    private final CancelKeys cancelKeys = new CancelKeys();
    private final ForwarderMetrics metrics = new ForwarderMetrics();
    private final ConnectionLimits limits;
    private AdminServer admin;
    private final Transport transport;
    private final NamespaceDialer dialer;
    private final ActiveConnections connections = new ActiveConnections();
    private final ConnectionLog connectionLog = new ConnectionLog();
    private final List<Channel> servers = new ArrayList<>();
    private final String tlsProvider;
    private EventLoopGroup loops;

    Forwarder(ForwarderConfig config, VmResolver resolver, Optional<TlsContexts> tls,
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
        tls.ifPresent(contexts -> contexts.store().start());
        loops = transport.newEventLoopGroup(Runtime.getRuntime().availableProcessors(), "fwd-loop");
        startAllThreads(loops);
        try {
            for (ListenerSpec spec : config.listeners()) {
                servers.add(bind(spec));
            }
            // After binding, so that start-up to listening does not wait for it; this thread is in the host namespace.
            dialer.prepare();
            registerGauges();
            if (config.adminAddress().isPresent()) {
                admin = startAdmin(config.adminAddress().get());
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

    private void registerGauges() {
        metrics.resolver(() -> resolver.current().vms().size(), () -> resolver.current().aliases().size(),
                () -> resolver.current().conflicts().size(), resolver::reloads);
        tls.ifPresent(contexts -> metrics.certificates(contexts.store()::earliestExpiryEpochSeconds,
                contexts.store()::reloads, contexts.store()::reloadFailures));
    }

    private AdminServer startAdmin(InetSocketAddress address) throws InterruptedException {
        AdminServer server;
        try {
            server = AdminServer.start(address, new AdminModel(metrics::scrape, this::notReady,
                    () -> RoutesView.of(resolver.current(), config.domain().domain()), this::connectionsOfVm));
        } catch (IllegalStateException e) {
            throw new BindException("admin endpoint (FWD_ADMIN_ADDR): " + e.getMessage(), e);
        }
        if (!address.getAddress().isLoopbackAddress()) {
            log.warn("admin endpoint listens on {}, not a loopback address: it has no authentication",
                    NetUtil.toSocketAddressString(server.address()));
        }
        log.atInfo().setMessage("admin endpoint listening")
                .addKeyValue("adminAddr", NetUtil.toSocketAddressString(server.address())).log();
        return server;
    }

    /** Why the forwarder should not get traffic yet: readiness for /readyz. */
    private List<String> notReady() {
        List<String> problems = new ArrayList<>();
        long bound = servers.stream().filter(Channel::isActive).count();
        if (bound < config.listeners().size()) {
            problems.add("listeners bound: " + bound + " of " + config.listeners().size());
        }
        if (tls.isEmpty() && config.listeners().stream()
                .anyMatch(l -> ListenerProtocol.of(l) != ListenerProtocol.RAW)) {
            problems.add("no certificate loaded");
        }
        if (!Files.isDirectory(config.configRoot()) || !Files.isReadable(config.configRoot())) {
            problems.add("metadata root " + config.configRoot() + " is not a readable folder");
        }
        return problems;
    }

    private CompletableFuture<List<ConnectionSnapshot>> connectionsOfVm(String vmPrefix) {
        return connections.snapshot().thenApply(all -> all.stream()
                .filter(c -> vmPrefix.isEmpty() || (c.vmId() != null && c.vmId().startsWith(vmPrefix)))
                .toList());
    }

    /** The admin endpoint's address, when it runs. */
    Optional<InetSocketAddress> adminAddress() {
        return Optional.ofNullable(admin).map(AdminServer::address);
    }

    ForwarderMetrics metrics() {
        return metrics;
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
        List<String> alpn = protocol.alpn(spec);
        TlsSelector listenerTls = protocol == ListenerProtocol.RAW ? null
                : (serverName, routed, alloc) -> tls.orElseThrow().newHandler(serverName, routed, alpn, alloc);
        ListenerContext context = new ListenerContext(spec, config.domain().domain(), resolver, dialer, listenerTls,
                config.dialTimeout(), config.handshakeTimeout(), config.idleTimeout(), cancelKeys, limits, metrics);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loops)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                // TCP_NODELAY is on by default for Netty's socket channels; setting it again costs a syscall.
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, limits.waterMark())
                .childHandler(new ForwarderInitializer(context, connections, connectionLog));
        InetSocketAddress address = spec.bindAddress();
        var bound = bootstrap.bind(address).await();
        if (!bound.isSuccess()) {
            throw new BindException("cannot listen on " + spec.text() + ": " + bound.cause().getMessage(),
                    bound.cause());
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

    /** Re-reads the metadata and certificates now (SIGHUP); called from the signal thread, never an event loop. */
    public void reload() {
        log.info("reload requested (SIGHUP)");
        try {
            resolver.reload();
            tls.ifPresent(contexts -> log.info("certificates reloaded: {}", contexts.store().reload()));
        } catch (RuntimeException e) {
            log.error("reload failed", e);
        }
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
        if (admin != null) {
            admin.close();
        }
        servers.forEach(Channel::close);
        if (loops != null) {
            loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        // After the loops: no dial is in flight once they have stopped.
        dialer.close();
        tls.ifPresent(TlsContexts::close);
        resolver.close();
    }

    /** A listener or the admin address could not be bound (in use, not local, no permission). */
    public static final class BindException extends RuntimeException {
        BindException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}

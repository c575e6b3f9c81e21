package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ConfigException;
import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.config.ListenerMode;
import io.mergen.forwarder.config.ListenerSpec;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.netns.Transport;
import io.mergen.forwarder.protocol.ListenerProtocol;
import io.mergen.forwarder.resolver.VmResolver;
import io.mergen.forwarder.config.CertPair;
import io.mergen.forwarder.tls.CertificateStore;
import io.mergen.forwarder.tls.KeyMaterial;
import io.mergen.forwarder.tls.LocalIssuer;
import io.mergen.forwarder.tls.ServerTls;
import io.mergen.forwarder.tls.TlsOptions;
import io.mergen.forwarder.tls.WildcardCoverage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiFunction;

/** Entry point: read the environment, start the forwarder, run until SIGTERM or SIGINT, stop gracefully. */
public final class Main {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_CONFIG = 2;

    private Main() {
    }

    public static void main(String[] args) {
        // Here rather than in run(): tests call run() and assemble() in a JVM whose Netty settings are their own.
        NettyDefaults.apply();
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.print(ForwarderConfig.help());
            return;
        }
        if (args.length > 0) {
            System.err.println("mergen-forwarder: unknown argument " + args[0] + " (configuration comes from FWD_* variables; see --help)");
            System.exit(EXIT_CONFIG);
        }
        System.exit(run(System.getenv()));
    }

    static int run(Map<String, String> env) {
        // SLF4J first, on this thread: initialised concurrently from the preload below, it would hand this thread a
        // substitute factory that Logging cannot configure.
        LoggerFactory.getILoggerFactory();
        // BoringSSL's loading and Netty's checks of it take ~300 ms of start-up: on a second core they overlap with
        // reading the configuration, the certificate's own checks and the dialer (wasted only when every listener is
        // raw). Class initialisation is thread-safe: whoever needs OpenSsl first waits for this.
        Thread.ofPlatform().daemon().name("tls-preload").start(ServerTls::providerName);
        ForwarderConfig config;
        try {
            config = ForwarderConfig.fromEnvironment(env);
        } catch (ConfigException e) {
            System.err.println("mergen-forwarder: " + e.getMessage());
            return EXIT_CONFIG;
        }
        Logging.configure(config.logLevel(), config.logFormat());
        Logger log = LoggerFactory.getLogger(Main.class);
        Forwarder forwarder;
        try {
            forwarder = assemble(config, NamespaceDialer::create);
        } catch (ConfigException e) {
            System.err.println("mergen-forwarder: " + e.getMessage());
            return EXIT_CONFIG;
        }
        CountDownLatch stop = new CountDownLatch(1);
        for (String signal : List.of("TERM", "INT")) {
            Signal.handle(new Signal(signal), s -> stop.countDown());
        }
        // SIGHUP, as for nginx and HAProxy: reload certificates and metadata now rather than at the next change.
        Signal.handle(new Signal("HUP"), s -> forwarder.reload());
        SystemdNotify systemd = SystemdNotify.fromEnvironment(env.get("NOTIFY_SOCKET"));
        try (forwarder) {
            forwarder.start();
            systemd.ready();
            stop.await();
            systemd.stopping();
            log.info("signal received, shutting down");
            forwarder.shutdown(config.shutdownTimeout());
            log.info("stopped");
            return EXIT_OK;
        } catch (Forwarder.BindException e) {
            log.error(e.getMessage());
            return EXIT_FAILURE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_FAILURE;
        }
    }

    /**
     * Builds a forwarder from its configuration, loading the certificate first so a bad one is a
     * configuration error. Runs on the main thread, which is in the host namespace: every thread the
     * forwarder starts inherits that namespace.
     */
    static Forwarder assemble(ForwarderConfig config,
                              BiFunction<List<Path>, Transport, NamespaceDialer> dialers) {
        Logger log = LoggerFactory.getLogger(Main.class);
        Optional<TlsContexts> tls = needsTls(config) ? Optional.of(loadTls(config, log)) : Optional.empty();
        Transport transport = Transport.detect();
        NamespaceDialer dialer = dialers.apply(config.netnsRoots(), transport);
        VmResolver resolver = new VmResolver(config.configRoot(), config.resolverCacheTtl(), config.domain());
        return new Forwarder(config, resolver, tls, transport, dialer,
                tls.isEmpty() ? "none" : ServerTls.providerName());
    }

    private static boolean needsTls(ForwarderConfig config) {
        return config.listeners().stream().anyMatch(l -> l.mode() == ListenerMode.TLS);
    }

    /** Loads every certificate now, so a bad one is a configuration error, and builds each listener's contexts. */
    private static TlsContexts loadTls(ForwarderConfig config, Logger log) {
        TlsOptions options = TlsOptions.of(config);
        CertificateStore store = CertificateStore.load(new CertPair(config.tlsCertFile(), config.tlsKeyFile()),
                config.tlsCerts(), options);
        for (ListenerSpec spec : config.listeners()) {
            ListenerProtocol protocol = ListenerProtocol.of(spec);
            if (protocol != ListenerProtocol.RAW) {
                store.prepare(protocol.alpn(spec));
            }
        }
        String domain = config.domain().domain();
        KeyMaterial material = store.material(null);
        if (!WildcardCoverage.coversWildcard(material.leaf(), domain)) {
            log.warn("certificate {} does not cover *.{} (it names {}); clients will not verify it",
                    config.tlsCertFile(), domain, WildcardCoverage.dnsNames(material.leaf()));
        }
        Optional<LocalIssuer> issuer = config.localCa().map(ca -> LocalIssuer.load(ca.cert(), ca.key()));
        issuer.ifPresent(ca -> log.info("issuing a certificate per routed name from the local CA {}",
                ca.caCertificate().getSubjectX500Principal().getName()));
        return new TlsContexts(store, issuer, options);
    }
}

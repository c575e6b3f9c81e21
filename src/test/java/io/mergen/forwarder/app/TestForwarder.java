package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.resolver.Route;
import io.mergen.forwarder.tls.TestCertificates;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A forwarder started in the test's JVM with the real namespace dialer, from FWD_* variables: the
 * certificate and config root are filled in, the rest comes from the test's overrides.
 */
final class TestForwarder implements AutoCloseable {
    private final Forwarder forwarder;

    private TestForwarder(Forwarder forwarder) {
        this.forwarder = forwarder;
    }

    static TestForwarder start(Path configRoot, TestCertificates.Issued certs, Map<String, String> overrides)
            throws InterruptedException {
        Map<String, String> env = new HashMap<>(Map.of(
                "FWD_CONFIG_ROOT", configRoot.toString(),
                "FWD_TLS_CERT_FILE", certs.certFile().toString(),
                "FWD_TLS_KEY_FILE", certs.keyFile().toString(),
                "FWD_DIAL_TIMEOUT_SECONDS", "2",
                "FWD_ADMIN_ADDR", "",
                "FWD_LOG_LEVEL", "info"));
        env.putAll(overrides);
        Forwarder forwarder = Main.assemble(ForwarderConfig.fromEnvironment(env), NamespaceDialer::create);
        forwarder.start();
        return new TestForwarder(forwarder);
    }

    /** The port the i-th listener of FWD_LISTENERS is bound to. */
    int port(int listener) {
        return forwarder.boundAddresses().get(listener).getPort();
    }

    /** Whether the forwarder's current routes name a VM for {@code serverName}; asks no guest. */
    boolean routes(String serverName) {
        return forwarder.resolver().route(serverName) instanceof Route.Found;
    }

    @Override
    public void close() throws InterruptedException {
        forwarder.shutdown(Duration.ZERO);
    }
}

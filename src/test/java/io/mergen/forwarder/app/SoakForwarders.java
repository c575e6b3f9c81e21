package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.tls.TestCertificates;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Starts forwarders in the test's JVM, so the soak tests can count its descriptors, threads and buffers:
 * with the real namespace dialer, or on loopback with {@link LoopbackDialer} (no root needed).
 */
final class SoakForwarders {
    private SoakForwarders() {
    }

    static Forwarder inNamespaces(Path configRoot, TestCertificates.Issued certs, Map<String, String> overrides)
            throws InterruptedException {
        Forwarder forwarder = Main.assemble(ForwarderConfig.fromEnvironment(environment(configRoot, certs, overrides)),
                NamespaceDialer::create);
        forwarder.start();
        return forwarder;
    }

    static Forwarder onLoopback(Path configRoot, TestCertificates.Issued certs, Map<String, String> overrides)
            throws InterruptedException {
        Forwarder forwarder = Main.assemble(ForwarderConfig.fromEnvironment(environment(configRoot, certs, overrides)),
                (roots, transport) -> new LoopbackDialer(transport));
        forwarder.start();
        return forwarder;
    }

    private static Map<String, String> environment(Path configRoot, TestCertificates.Issued certs,
                                                   Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(Map.of(
                "FWD_CONFIG_ROOT", configRoot.toString(),
                "FWD_TLS_CERT_FILE", certs.certFile().toString(),
                "FWD_TLS_KEY_FILE", certs.keyFile().toString(),
                "FWD_DIAL_TIMEOUT_SECONDS", "2",
                "FWD_ADMIN_ADDR", ""));
        env.putAll(overrides);
        return env;
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Certificates of a running forwarder (loopback, no namespaces): rotation by replacing the files, a broken
 * replacement keeping the old pair, SIGHUP's reload, and on-demand leaves from a local CA for routed names only.
 */
class CertificatesTest {
    @TempDir
    Path work;

    private Forwarder forwarder;
    private ServerSocket guest;
    private int port;

    @AfterEach
    void stop() throws Exception {
        if (forwarder != null) {
            forwarder.shutdown(Duration.ZERO);
        }
        if (guest != null) {
            guest.close();
        }
    }

    private void start(Map<String, String> overrides) throws Exception {
        guest = new ServerSocket();
        guest.bind(new InetSocketAddress("127.0.0.1", 0));
        Path vm = Files.createDirectories(work.resolve("vm.d/vm-1"));
        Files.writeString(vm.resolve("meta.json"), """
                {"id": "0badc0de-0000-4000-8000-00000000000c", "guestIP": "127.0.0.1", "netns": "host",
                 "tags": {"app": "app1"}, "httpPort": %d}
                """.formatted(guest.getLocalPort()));
        port = TestPorts.free();
        Map<String, String> env = new HashMap<>(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + port + "=443",
                "FWD_CONFIG_ROOT", work.resolve("vm.d").toString(),
                "FWD_ADMIN_ADDR", ""));
        env.putAll(overrides);
        forwarder = Main.assemble(ForwarderConfig.fromEnvironment(env), (roots, transport) -> new LoopbackDialer(transport));
        forwarder.start();
    }

    @Test
    void replacedFilesServeNewHandshakesAndABrokenPairKeepsTheOld() throws Exception {
        Path live = Files.createDirectories(work.resolve("live"));
        TestCertificates.Issued first = TestCertificates.issue(Files.createDirectories(work.resolve("first")),
                "app1.localhost");
        TestCertificates.Issued second = TestCertificates.issue(Files.createDirectories(work.resolve("second")),
                "app1.localhost");
        Files.copy(first.certFile(), live.resolve("cert.pem"));
        Files.copy(first.keyFile(), live.resolve("key.pem"));
        start(Map.of("FWD_TLS_CERT_FILE", live.resolve("cert.pem").toString(),
                "FWD_TLS_KEY_FILE", live.resolve("key.pem").toString()));
        assertThat(serverCertificate(first.caFile(), "app1.localhost")).isNotNull();

        // As certificate tools do: write aside, then rename into place.
        Files.copy(second.keyFile(), live.resolve("key.tmp"));
        Files.move(live.resolve("key.tmp"), live.resolve("key.pem"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        Files.copy(second.certFile(), live.resolve("cert.tmp"));
        Files.move(live.resolve("cert.tmp"), live.resolve("cert.pem"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        await().atMost(Duration.ofSeconds(2)).until(() -> handshakes(second.caFile(), "app1.localhost"));

        // A certificate without its key (from a pair never seen here): the pair in service stays.
        TestCertificates.Issued third = TestCertificates.issue(Files.createDirectories(work.resolve("third")),
                "app1.localhost");
        double failures = reloadFailures();
        Files.copy(third.certFile(), live.resolve("cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        await().atMost(Duration.ofSeconds(3)).until(() -> reloadFailures() > failures);
        assertThat(handshakes(second.caFile(), "app1.localhost")).isTrue();

        // SIGHUP's reload: still refused, still serving the good pair.
        forwarder.reload();
        assertThat(handshakes(second.caFile(), "app1.localhost")).isTrue();
    }

    @Test
    void localCaIssuesALeafForRoutedNamesOnly() throws Exception {
        TestCertificates.Issued fallback = TestCertificates.issue(Files.createDirectories(work.resolve("default")),
                "*.localhost");
        Path caDir = Files.createDirectories(work.resolve("ca"));
        TestCertificates.issue(caDir, "unused.localhost");
        start(Map.of("FWD_TLS_CERT_FILE", fallback.certFile().toString(),
                "FWD_TLS_KEY_FILE", fallback.keyFile().toString(),
                "FWD_TLS_CA_CERT_FILE", caDir.resolve("ca.pem").toString(),
                "FWD_TLS_CA_KEY_FILE", caDir.resolve("ca-key.pem").toString()));

        X509Certificate leaf = serverCertificate(caDir.resolve("ca.pem"), "app1.localhost");
        assertThat(leaf.getSubjectAlternativeNames().stream().map(san -> String.valueOf(san.get(1))).toList())
                .containsExactly("app1.localhost");
        // Not a VM: the default certificate, which the local CA did not sign.
        assertThatThrownBy(() -> serverCertificate(caDir.resolve("ca.pem"), "app9.localhost"))
                .isInstanceOf(SSLHandshakeException.class);
        assertThat(handshakes(fallback.caFile(), "app9.localhost")).isTrue();
    }

    private double reloadFailures() {
        Matcher value = Pattern.compile("(?m)^mergen_certificate_reload_failures (\\S+)$")
                .matcher(forwarder.metrics().scrape());
        assertThat(value.find()).isTrue();
        return Double.parseDouble(value.group(1));
    }

    private boolean handshakes(Path caFile, String serverName) {
        try {
            serverCertificate(caFile, serverName);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Handshakes trusting only {@code caFile}, checking the host name as browsers do; the leaf served. */
    private X509Certificate serverCertificate(Path caFile, String serverName) throws IOException {
        try (SSLSocket socket = (SSLSocket) TestCertificates.trustingClient(caFile).getSocketFactory()
                .createSocket("127.0.0.1", port)) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(serverName)));
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }
}

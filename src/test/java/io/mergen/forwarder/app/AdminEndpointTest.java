package io.mergen.forwarder.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The admin endpoint against a running forwarder on loopback (no namespaces): every path answers, and the
 * metrics move when connections do.
 */
class AdminEndpointTest {
    private static final String VM_ID = "0badc0de-0000-4000-8000-00000000000a";

    @TempDir
    Path work;

    private final HttpClient http = HttpClient.newHttpClient();
    private ServerSocket guest;
    private Forwarder forwarder;
    private TestCertificates.Issued certs;
    private int httpsPort;
    private String admin;

    @BeforeEach
    void start() throws Exception {
        guest = new ServerSocket();
        guest.bind(new InetSocketAddress("127.0.0.1", 0));
        Path vm = Files.createDirectories(work.resolve("vm.d/vm-1"));
        Files.writeString(vm.resolve("meta.json"), """
                {"id": "%s", "guestIP": "127.0.0.1", "netns": "host", "tags": {"app": "app1"}, "httpPort": %d}
                """.formatted(VM_ID, guest.getLocalPort()));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")), "*.localhost", "app1.localhost",
                "app9.localhost");
        httpsPort = TestPorts.free();
        int adminPort = TestPorts.free();
        ForwarderConfig config = ForwarderConfig.fromEnvironment(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + httpsPort + "=443",
                "FWD_CONFIG_ROOT", work.resolve("vm.d").toString(),
                "FWD_TLS_CERT_FILE", certs.certFile().toString(),
                "FWD_TLS_KEY_FILE", certs.keyFile().toString(),
                "FWD_ADMIN_ADDR", "127.0.0.1:" + adminPort));
        forwarder = Main.assemble(config, (roots, transport) -> new LoopbackDialer(transport));
        forwarder.start();
        admin = "http://127.0.0.1:" + adminPort;
    }

    @AfterEach
    void stop() throws Exception {
        forwarder.shutdown(Duration.ZERO);
        guest.close();
    }

    @Test
    void healthzAndReadyzAnswer() throws Exception {
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
        HttpResponse<String> ready = get("/readyz");
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
    }

    @Test
    void readyzSaysWhyWhenTheMetadataRootIsGone() throws Exception {
        Files.delete(work.resolve("vm.d/vm-1/meta.json"));
        Files.delete(work.resolve("vm.d/vm-1"));
        Files.delete(work.resolve("vm.d"));
        HttpResponse<String> ready = get("/readyz");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body()).contains("metadata root");
    }

    @Test
    void routesListEveryAliasAndVm() throws Exception {
        JsonNode routes = new ObjectMapper().readTree(get("/routes").body());
        assertThat(routes.get("domain").asText()).isEqualTo("localhost");
        assertThat(routes.get("aliases").get("app1").asText()).isEqualTo(VM_ID);
        assertThat(routes.get("aliases").get("0badc0de").asText()).isEqualTo(VM_ID);
        JsonNode vm = routes.get("vms").get(0);
        assertThat(vm.get("netns").asText()).isEqualTo("host");
        assertThat(vm.get("guestIP").asText()).isEqualTo("127.0.0.1");
        assertThat(routes.get("conflicts")).isEmpty();
    }

    @Test
    void metricsMoveWithConnections() throws Exception {
        System.gc(); // gauges must not lose their suppliers to the collector (Micrometer holds them weakly by default)
        String before = get("/metrics").body();
        assertThat(before).contains("mergen_resolver_vms 1.0", "mergen_certificate_expiry_seconds")
                .doesNotContain("NaN");
        double acceptedBefore = sample(before, "mergen_connections_accepted_total");

        CompletableFuture<Void> served = echoOnce();
        try (SSLSocket client = tls("app1.localhost")) {
            client.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(client.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
        }
        served.join();
        try (SSLSocket unknown = tls("app9.localhost")) {
            unknown.getInputStream().readAllBytes();
        }

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String after = get("/metrics").body();
            assertThat(sample(after, "mergen_connections_accepted_total")).isEqualTo(acceptedBefore + 2);
            assertThat(sample(after, "mergen_bytes_total", "direction=\"from_client\"")).isGreaterThanOrEqualTo(4);
            assertThat(sample(after, "mergen_vm_bytes_total", "direction=\"to_client\"", "vm=\"" + VM_ID + "\""))
                    .isGreaterThanOrEqualTo(4);
            assertThat(sample(after, "mergen_route_failures_total", "reason=\"unknown_vm\"")).isEqualTo(1);
            assertThat(sample(after, "mergen_dial_duration_seconds_count")).isEqualTo(1);
            assertThat(sample(after, "mergen_connections_closed_total", "outcome=\"ok\"")).isEqualTo(1);
            assertThat(after).contains("mergen_connections_active{listener=");
            assertThat(sample(after, "mergen_connections_active")).isZero();
        });
    }

    /** The second connection of a client that kept its ticket resumes, and the counters tell the two apart. */
    @Test
    void handshakesAreCountedFullOrResumed() throws Exception {
        String before = get("/metrics").body();
        SSLSocketFactory oneClient = TestCertificates.trustingClient(certs.caFile()).getSocketFactory();

        for (int i = 0; i < 2; i++) {
            try (SSLSocket socket = tls(oneClient, "app9.localhost")) {
                socket.getInputStream().readAllBytes(); // the tickets come before the refusal and its close
            }
        }

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String after = get("/metrics").body();
            assertThat(sample(after, "mergen_handshakes_total", "kind=\"full\""))
                    .isEqualTo(sample(before, "mergen_handshakes_total", "kind=\"full\"") + 1);
            assertThat(sample(after, "mergen_handshakes_total", "kind=\"resumed\""))
                    .isEqualTo(sample(before, "mergen_handshakes_total", "kind=\"resumed\"") + 1);
        });
    }

    @Test
    void connectionsListsOpenOnesAndFiltersByVm() throws Exception {
        CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return guest.accept();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try (SSLSocket client = tls("app1.localhost")) {
            client.getOutputStream().write("hold".getBytes(StandardCharsets.US_ASCII));
            try (Socket guestSide = accepted.join()) {
                guestSide.getInputStream().readNBytes(4);
                JsonNode all = new ObjectMapper().readTree(get("/connections").body()).get("connections");
                assertThat(all).hasSize(1);
                assertThat(all.get(0).get("serverName").asText()).isEqualTo("app1.localhost");
                assertThat(all.get(0).get("vmId").asText()).isEqualTo(VM_ID);
                assertThat(all.get(0).get("bytesFromClient").asLong()).isEqualTo(4);

                JsonNode byVm = new ObjectMapper().readTree(get("/connections?vm=0badc0de").body()).get("connections");
                assertThat(byVm).hasSize(1);
                JsonNode other = new ObjectMapper().readTree(get("/connections?vm=ffff").body()).get("connections");
                assertThat(other).isEmpty();
            }
        }
    }

    @Test
    void unknownPathIs404() throws Exception {
        assertThat(get("/nope").statusCode()).isEqualTo(404);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(admin + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The sum of the samples of a metric whose labels contain every given label text. */
    private static double sample(String exposition, String name, String... labels) {
        double sum = 0;
        Matcher line = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*})? (\\S+)$").matcher(exposition);
        while (line.find()) {
            String labelText = line.group(1) == null ? "" : line.group(1);
            if (List.of(labels).stream().allMatch(labelText::contains)) {
                sum += Double.parseDouble(line.group(2));
            }
        }
        return sum;
    }

    private CompletableFuture<Void> echoOnce() {
        return CompletableFuture.runAsync(() -> {
            try (Socket conn = guest.accept()) {
                conn.getOutputStream().write(conn.getInputStream().readNBytes(4));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private SSLSocket tls(String serverName) throws IOException {
        return tls(TestCertificates.trustingClient(certs.caFile()).getSocketFactory(), serverName);
    }

    private SSLSocket tls(SSLSocketFactory client, String serverName) throws IOException {
        SSLSocket socket = (SSLSocket) client.createSocket("127.0.0.1", httpsPort);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(serverName)));
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(10_000);
        return socket;
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A listener with {@code +proxy} sends a PROXY protocol v2 header first: nginx in the VM, configured with
 * {@code proxy_protocol}, logs the real client address and port instead of the forwarder's.
 */
@Tag("e2e")
class ProxyProtocolEndToEndTest {
    private static final String GUEST_IP = "10.213.26.2";
    private static final String GUEST_RANGE = "10.213.26.0/24";

    @TempDir
    static Path work;

    private static UnreachableRange route;
    private static GuestVm vm;
    private static TestForwarder forwarder;
    private static TestCertificates.Issued certs;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")), "*.localhost", "app1.localhost");
        vm = GuestVm.create(work, "app1", GUEST_IP);
        Path dir = vm.dir();
        Files.createDirectories(dir.resolve("tmp-pp"));
        Path config = dir.resolve("nginx-pp.conf");
        Files.writeString(config, """
                daemon off;
                user root;
                worker_processes 1;
                pid %1$s/nginx-pp.pid;
                error_log %1$s/error-pp.log;
                events { worker_connections 64; }
                http {
                  log_format real 'real=$proxy_protocol_addr:$proxy_protocol_port peer=$remote_addr';
                  access_log %1$s/access-pp.log real;
                  client_body_temp_path %1$s/tmp-pp;
                  server {
                    listen %2$s:443 proxy_protocol;
                    location = /whoami { default_type text/plain; return 200 "app1\\n"; }
                  }
                }
                """.formatted(dir, GUEST_IP));
        vm.spawn("nginx-pp.log", "nginx", "-c", config.toString());
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(dir.resolve("nginx-pp.pid")));
        vm.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");
        port = TestPorts.free();
        forwarder = TestForwarder.start(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=443/tls+proxy"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (forwarder != null) {
            forwarder.close();
        }
        if (vm != null) {
            vm.close();
        }
        if (route != null) {
            route.close();
        }
    }

    @Test
    void nginxLogsTheRealClientAddressAndPort() throws Exception {
        Shell.Result curl = Shell.run(List.of("curl", "-sS", "--max-time", "10", "--cacert", certs.caFile().toString(),
                "--resolve", "app1.localhost:" + port + ":127.0.0.1", "-w", "%{local_port}",
                "https://app1.localhost:" + port + "/whoami"), 30);
        assertThat(curl.exitCode()).as(curl.stderr()).isZero();
        // The body ends with a newline; curl's own port follows it.
        String[] lines = curl.stdout().split("\n");
        assertThat(lines[0]).isEqualTo("app1");
        String clientPort = lines[1].strip();
        assertThat(clientPort).matches("\\d+");

        Path accessLog = vm.dir().resolve("access-pp.log");
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(accessLog) && !Files.readString(accessLog).isBlank());
        // The guest's own peer is the forwarder's socket in its namespace; the header names curl itself.
        assertThat(Files.readString(accessLog)).contains("real=127.0.0.1:" + clientPort + " peer=" + GUEST_IP);
    }
}

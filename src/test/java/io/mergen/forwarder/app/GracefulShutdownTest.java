package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** SIGTERM on the real process: it stops accepting, lets an open transfer finish, and exits 0. */
@Tag("e2e")
class GracefulShutdownTest {
    private static final String GUEST_IP = "10.213.10.2";
    private static final String GUEST_RANGE = "10.213.10.0/24";

    @TempDir
    Path work;

    private final List<AutoCloseable> cleanups = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable cleanup : cleanups.reversed()) {
            cleanup.close();
        }
    }

    @Test
    void sigtermLetsAnOpenTransferFinishThenExitsZero() throws Exception {
        RootRequired.check();
        Shell.run("ip", "route", "add", "unreachable", GUEST_RANGE).orThrow();
        cleanups.add(() -> Shell.quietly("ip", "route", "del", "unreachable", GUEST_RANGE));
        Path files = Files.createDirectories(work.resolve("files"));
        ForwarderEndToEndTest.writeRandomFile(files.resolve("big.bin"), 64);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        GuestVm vm = GuestVm.start(work, "app1", GUEST_IP, files);
        cleanups.add(vm);
        vm.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");
        TestCertificates.Issued certs = TestCertificates.issue(
                Files.createDirectories(work.resolve("pki")), "*.localhost", "app1.localhost");

        int port = TestPorts.free();
        ProcessBuilder builder = new ProcessBuilder(
                ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), Main.class.getName())
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("forwarder.log").toFile());
        builder.environment().putAll(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + port + "=443",
                "FWD_CONFIG_ROOT", configRoot.toString(),
                "FWD_TLS_CERT_FILE", certs.certFile().toString(),
                "FWD_TLS_KEY_FILE", certs.keyFile().toString(),
                "FWD_SHUTDOWN_TIMEOUT_SECONDS", "60",
                "FWD_ADMIN_ADDR", "",
                "FWD_LOG_LEVEL", "info"));
        Process forwarder = builder.start();
        cleanups.add(forwarder::destroyForcibly);
        await().atMost(Duration.ofSeconds(20)).until(() -> canConnect(port));

        // A download slowed to ~8 s, so the signal surely arrives in the middle of it.
        Path download = work.resolve("download.bin");
        Process curl = new ProcessBuilder("curl", "-sS", "--limit-rate", "8M", "--max-time", "60",
                "--cacert", certs.caFile().toString(), "--resolve", "app1.localhost:" + port + ":127.0.0.1",
                "-o", download.toString(), "-w", "%{http_code}", "https://app1.localhost:" + port + "/files/big.bin")
                .redirectError(work.resolve("curl.err").toFile()).start();
        cleanups.add(curl::destroyForcibly);
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(download) && Files.size(download) > (1 << 20));

        Shell.run("kill", "-TERM", String.valueOf(forwarder.pid())).orThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> !canConnect(port));
        assertThat(curl.isAlive()).as("transfer still running after SIGTERM").isTrue();

        assertThat(curl.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(new String(curl.getInputStream().readAllBytes())).isEqualTo("200");
        assertThat(curl.exitValue()).as(Files.readString(work.resolve("curl.err"))).isZero();
        assertThat(Files.size(download)).isEqualTo(64L << 20);
        assertThat(forwarder.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(forwarder.exitValue()).as(Files.readString(work.resolve("forwarder.log"))).isZero();
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
    }

    private static boolean canConnect(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}

package io.mergen.forwarder.app;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
import static org.awaitility.Awaitility.await;

/**
 * The real process under a stand-in for systemd: READY=1 comes only once the listeners are bound, SIGHUP reloads
 * without stopping, SIGTERM sends STOPPING=1 and exits 0. A tiny Python listener plays systemd's notify socket,
 * since the JDK has no AF_UNIX datagram sockets.
 */
class SystemdNotifyTest {
    @TempDir
    Path work;

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
    }

    @Test
    void readyAfterBindingReloadOnHupStoppingOnTerm() throws Exception {
        Path socket = work.resolve("notify.sock");
        Path received = work.resolve("received.txt");
        Process systemd = start(new ProcessBuilder("python3", "-c", """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.bind(sys.argv[1])
                s.settimeout(60)
                with open(sys.argv[2], "a") as out:
                    while True:
                        out.write(s.recv(4096).decode() + "\\n---\\n")
                        out.flush()
                """, socket.toString(), received.toString()));
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(socket));

        Files.createDirectories(work.resolve("vm.d"));
        int port = TestPorts.free();
        ProcessBuilder builder = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), Main.class.getName())
                .redirectErrorStream(true).redirectOutput(work.resolve("forwarder.log").toFile());
        builder.environment().putAll(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + port + "=22",
                "FWD_CONFIG_ROOT", work.resolve("vm.d").toString(),
                "FWD_ADMIN_ADDR", "",
                "FWD_LOG_LEVEL", "info",
                "NOTIFY_SOCKET", socket.toString()));
        Process forwarder = start(builder);

        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(received)
                && Files.readString(received).contains("READY=1"));
        assertThat(canConnect(port)).as("listening when READY=1 arrived").isTrue();

        Shell.run("kill", "-HUP", String.valueOf(forwarder.pid())).orThrow();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> Files.readString(work.resolve("forwarder.log")).contains("reload requested"));
        assertThat(forwarder.isAlive()).isTrue();

        Shell.run("kill", "-TERM", String.valueOf(forwarder.pid())).orThrow();
        assertThat(forwarder.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(forwarder.exitValue()).as(Files.readString(work.resolve("forwarder.log"))).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(received).contains("STOPPING=1"));
        systemd.destroy();
    }

    private Process start(ProcessBuilder builder) throws Exception {
        Process process = builder.start();
        processes.add(process);
        return process;
    }

    private static boolean canConnect(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}

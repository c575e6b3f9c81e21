package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Starting and stopping a forwarder in the same process, again and again, gives back every descriptor and thread
 * it took: event loops, listeners, the resolver's watcher, and the namespace dialer's handle on the host namespace.
 * Without root: opening the host namespace needs no privilege.
 *
 * <p>CI runs 20 cycles per dialer; the full test 200: {@code ./run-tests -Dtest='*SoakTest' -Dsoak.full=true}.
 */
class ForwarderRestartSoakTest {
    private static final int CYCLES = Soak.size(20, 200);
    private static final int FD_TOLERANCE = 4;
    private static final int THREAD_TOLERANCE = 2;

    @TempDir
    static Path work;

    private static Path configRoot;
    private static TestCertificates.Issued certs;

    @BeforeAll
    static void certificates() throws Exception {
        configRoot = Files.createDirectories(work.resolve("vm.d"));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")), "*.localhost", "app1.localhost");
    }

    /**
     * The namespace dialer holds one {@code net:[...]} descriptor, the host namespace NetworkNamespaces opens
     * ({@code /proc/thread-self/ns/net}); Forwarder.close() must give it back.
     */
    @ParameterizedTest(name = "{0} dialer")
    @ValueSource(strings = {"loopback", "namespace"})
    void startAndStopGiveBackEveryDescriptorAndThread(String dialer) throws Exception {
        cycle(dialer); // the first start loads native libraries and classes for good
        ProcessResources.Snapshot before = ProcessResources.Snapshot.take();
        try (QuietLogs quiet = QuietLogs.start()) {
            for (int i = 0; i < CYCLES; i++) {
                cycle(dialer);
            }
        }
        await().atMost(Duration.ofSeconds(30)).pollInSameThread().pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> assertThat(ProcessResources.threads()).as("live threads")
                        .isLessThanOrEqualTo(before.threads() + THREAD_TOLERANCE));
        ProcessResources.Fds after = ProcessResources.fds();
        System.out.printf(Locale.ROOT, "soak[%s] %d forwarder start/stop cycles, %s dialer: before %s; after fds %s, threads %d%n",
                Soak.mode(), CYCLES, dialer, before, after, ProcessResources.threads());
        assertThat(after.of("net")).as("namespace descriptors after %d cycles (before: %s, after: %s)",
                CYCLES, before.fds(), after).isEqualTo(before.fds().of("net"));
        assertThat(after.total()).as("open descriptors (before: %s, after: %s)", before.fds(), after)
                .isLessThanOrEqualTo(before.fds().total() + FD_TOLERANCE);
    }

    private static void cycle(String dialer) throws InterruptedException {
        Map<String, String> env = Map.of("FWD_LISTENERS", "127.0.0.1:" + TestPorts.free() + "=443");
        Forwarder forwarder = dialer.equals("namespace")
                ? SoakForwarders.inNamespaces(configRoot, certs, env)
                : SoakForwarders.onLoopback(configRoot, certs, env);
        forwarder.shutdown(Duration.ZERO);
    }
}

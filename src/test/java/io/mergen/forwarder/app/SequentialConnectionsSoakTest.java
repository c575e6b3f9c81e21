package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Many sequential connections of every kind, good and bad, leave the forwarder holding no more descriptors,
 * threads or heap than before: relayed requests to a real nginx guest, unknown names, no SNI, a dial refused
 * inside the VM's namespace, and clients that give up in the middle of the handshake.
 *
 * <p>CI runs 5,000 connections; the full 100,000: {@code ./run-tests -Dtest='*SoakTest' -Dsoak.full=true}.
 */
@Tag("e2e")
class SequentialConnectionsSoakTest {
    private static final String GUEST_IP = "10.213.23.2";
    private static final String GUEST_RANGE = "10.213.23.0/24";
    private static final int CONNECTIONS = Soak.size(5_000, 100_000);
    private static final int WARM_UP = 500;
    /** Slack for descriptors the JVM opens on its own (a jar, a /proc file being read) while we count. */
    private static final int FD_TOLERANCE = 8;
    private static final int THREAD_TOLERANCE = 2;
    private static final long HEAP_TOLERANCE = 4L << 20;

    @TempDir
    static Path work;

    private static UnreachableRange route;
    private static GuestVm vm;
    private static Forwarder forwarder;
    private static SoakClients.PerServerName clients;
    private static byte[] clientHello;
    private static int port;

    /** The kinds of connection, taken in turn. */
    enum Kind { RELAYED, UNKNOWN_NAME, NO_SNI, DIAL_REFUSED, ABANDONED_HANDSHAKE }

    @BeforeAll
    static void startGuestAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        Path files = Files.createDirectories(work.resolve("files"));
        vm = GuestVm.start(work, "app1", GUEST_IP, files);
        vm.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");
        // A second VM in the same namespace whose HTTP port has no listener: every dial is refused there.
        String downId = UUID.randomUUID().toString();
        Files.writeString(Files.createDirectories(configRoot.resolve(downId)).resolve("meta.json"), """
                {"id": "%s", "createdAt": "2026-01-02T00:00:00Z", "guestIP": "%s", "netns": "%s",
                 "tags": {"app": "down"}, "httpPort": 81}
                """.formatted(downId, GUEST_IP, vm.netns()));
        TestCertificates.Issued certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "app1.localhost", "app9.localhost", "down.localhost");
        port = TestPorts.free();
        forwarder = SoakForwarders.inNamespaces(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=443"));
        clients = new SoakClients.PerServerName(certs.caFile());
        clientHello = SoakClients.clientHello(SoakClients.context(certs.caFile()), "app1.localhost");
    }

    @AfterAll
    static void stop() throws Exception {
        if (forwarder != null) {
            forwarder.shutdown(Duration.ZERO);
        }
        if (vm != null) {
            vm.close();
        }
        if (route != null) {
            route.close();
        }
    }

    @Test
    void descriptorsThreadsAndHeapReturnToTheirBaseline() throws Exception {
        try (QuietLogs quiet = QuietLogs.start()) {
            run(WARM_UP);
            ProcessResources.Snapshot before = settle();
            Map<Kind, Integer> done = run(CONNECTIONS);
            await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.activeConnections() == 0);
            // The forwarder closes its sockets asynchronously; give the loops a moment to catch up.
            await().atMost(Duration.ofSeconds(30)).pollInSameThread().pollInterval(Duration.ofMillis(200))
                    .untilAsserted(() -> assertThat(ProcessResources.fds().total()).as("open descriptors, baseline %s, now %s",
                            before.fds(), ProcessResources.fds()).isLessThanOrEqualTo(before.fds().total() + FD_TOLERANCE));
            await().atMost(Duration.ofSeconds(30)).pollInSameThread().pollInterval(Duration.ofMillis(200))
                    .untilAsserted(() -> assertThat(ProcessResources.threads()).as("live threads")
                            .isLessThanOrEqualTo(before.threads() + THREAD_TOLERANCE));
            await().atMost(Duration.ofSeconds(30)).pollInSameThread().pollInterval(Duration.ofSeconds(1))
                    .untilAsserted(() -> assertThat(ProcessResources.heapAfterGc()).as("heap after GC, baseline %s",
                            ProcessResources.mib(before.heap())).isLessThanOrEqualTo(before.heap() + HEAP_TOLERANCE));
            ProcessResources.Snapshot after = ProcessResources.Snapshot.take();
            System.out.printf("soak[%s] %d sequential connections %s: fds %s -> %s, threads %d -> %d, heap after GC %s -> %s%n",
                    Soak.mode(), CONNECTIONS, done, before.fds(), after.fds(), before.threads(), after.threads(),
                    ProcessResources.mib(before.heap()), ProcessResources.mib(after.heap()));
            assertThat(done.values()).allMatch(n -> n == CONNECTIONS / Kind.values().length);
            assertThat(after.fds().of("socket")).as("sockets").isLessThanOrEqualTo(before.fds().of("socket"));
            assertThat(after.fds().of("net")).as("namespace descriptors").isEqualTo(before.fds().of("net"));
        }
    }

    private static ProcessResources.Snapshot settle() {
        await().atMost(Duration.ofSeconds(30)).pollInSameThread().until(() -> forwarder.activeConnections() == 0);
        return ProcessResources.Snapshot.take();
    }

    /** Makes {@code count} connections, the kinds in turn, each checked for the answer its kind must get. */
    private static Map<Kind, Integer> run(int count) throws IOException {
        Map<Kind, Integer> done = new EnumMap<>(Kind.class);
        Kind[] kinds = Kind.values();
        for (int i = 0; i < count; i++) {
            Kind kind = kinds[i % kinds.length];
            connect(kind, i / kinds.length);
            done.merge(kind, 1, Integer::sum);
        }
        return done;
    }

    private static void connect(Kind kind, int round) throws IOException {
        switch (kind) {
            case RELAYED -> {
                SoakClients.Response response = get("app1.localhost");
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.body()).isEqualTo(vm.whoami());
            }
            case UNKNOWN_NAME -> assertThat(get("app9.localhost").status()).isEqualTo(404);
            case NO_SNI -> assertThat(get(null).status()).isEqualTo(421);
            case DIAL_REFUSED -> {
                SoakClients.Response response = get("down.localhost");
                assertThat(response.status()).isEqualTo(502);
                assertThat(response.body()).contains("VM down is not reachable", "connection refused");
            }
            case ABANDONED_HANDSHAKE -> abandonHandshake(round);
        }
    }

    private static SoakClients.Response get(String serverName) throws IOException {
        try (SSLSocket socket = clients.connect(port, serverName)) {
            return SoakClients.get(socket, serverName == null ? "127.0.0.1" : serverName, "/whoami");
        }
    }

    /**
     * Gives up in turn while the forwarder still reads the ClientHello (half of it sent) and after the server
     * answered it (the TLS handler mid-handshake); every other time with a reset instead of a FIN.
     */
    private static void abandonHandshake(int round) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            if (round % 2 == 0) {
                socket.getOutputStream().write(clientHello, 0, clientHello.length / 2);
            } else {
                socket.getOutputStream().write(clientHello);
                assertThat(socket.getInputStream().read()).as("first byte of the ServerHello record").isEqualTo(0x16);
            }
            if (round % 4 >= 2) {
                socket.setSoLinger(true, 0);
            }
        }
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Many connections at once, each carrying a random amount (0 to 4 MiB) both ways through the forwarder's TLS
 * listener to a loopback guest: both ends compare SHA-256 checksums, so every byte must arrive, in order, on
 * the connection it was sent on.
 *
 * <p>CI runs 200 connections at once; the full test 1,000: {@code ./run-tests -Dtest='*SoakTest' -Dsoak.full=true}.
 */
class ConcurrentIntegritySoakTest {
    private static final int CONNECTIONS = Soak.size(200, 1_000);
    private static final int MAX_LENGTH = 4 << 20;
    /** Handshakes in flight at once while connecting: all of them at once on two cores would hit the 10 s handshake timeout. */
    private static final int CONNECTING_AT_ONCE = 32;

    @TempDir
    Path work;

    private final byte[] pattern = new byte[8 << 20];
    private ChecksumGuest guest;
    private Forwarder forwarder;
    private SSLContext client;
    private int port;

    @BeforeEach
    void start() throws Exception {
        new Random(7).nextBytes(pattern);
        guest = new ChecksumGuest(pattern);
        Path vm = Files.createDirectories(work.resolve("vm.d/echo"));
        Files.writeString(vm.resolve("meta.json"), """
                {"id": "0badc0de-0000-4000-8000-0000000000e1", "guestIP": "127.0.0.1", "netns": "host",
                 "tags": {"app": "echo"}}
                """);
        TestCertificates.Issued certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "echo.localhost");
        port = TestPorts.free();
        // An opaque TLS stream: the guest port is none of the known protocols.
        forwarder = SoakForwarders.onLoopback(work.resolve("vm.d"), certs, Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + port + "=" + guest.port(),
                "FWD_ALLOWED_GUEST_PORTS", String.valueOf(guest.port())));
        client = SoakClients.context(certs.caFile());
    }

    @AfterEach
    void stop() throws Exception {
        if (forwarder != null) {
            forwarder.shutdown(Duration.ZERO);
        }
        if (guest != null) {
            guest.close();
        }
    }

    /** One connection's plan: how much goes up (from where in the pattern), how much comes down (from where). */
    record Plan(int index, long upLength, int upOffset, long downLength, int downOffset) {
    }

    @Test
    void everyByteArrivesInOrderBothWaysOnEveryConnection() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<Plan> plans = new ArrayList<>();
        for (int i = 0; i < CONNECTIONS; i++) {
            plans.add(new Plan(i, length(random), random.nextInt(pattern.length),
                    length(random), random.nextInt(pattern.length)));
        }
        long up = plans.stream().mapToLong(Plan::upLength).sum();
        long down = plans.stream().mapToLong(Plan::downLength).sum();
        int socketsBefore = ProcessResources.fds().of("socket");

        Semaphore connecting = new Semaphore(CONNECTING_AT_ONCE);
        CountDownLatch connected = new CountDownLatch(CONNECTIONS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> results = new ArrayList<>();
        int heldAtOnce;
        try (QuietLogs quiet = QuietLogs.start();
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Plan plan : plans) {
                results.add(clients.submit(() -> transfer(plan, connecting, connected, go, clients)));
            }
            assertThat(connected.await(120, TimeUnit.SECONDS)).as("all connected").isTrue();
            heldAtOnce = forwarder.activeConnections();
            go.countDown();
            List<String> failures = new ArrayList<>();
            for (Future<String> result : results) {
                String failure = result.get(300, TimeUnit.SECONDS);
                if (!failure.isEmpty()) {
                    failures.add(failure);
                }
            }
            System.out.printf(Locale.ROOT, "soak[%s] %d connections at once (forwarder held %d), %s up, %s down, seed %d, "
                            + "%d failed%n", Soak.mode(), CONNECTIONS, heldAtOnce, ProcessResources.mib(up),
                    ProcessResources.mib(down), seed, failures.size());
            assertThat(failures).as("client-side failures (seed %d)", seed).isEmpty();
        }
        assertThat(heldAtOnce).as("connections open in the forwarder at once").isEqualTo(CONNECTIONS);
        await().atMost(Duration.ofSeconds(30)).until(() -> guest.received().size() == CONNECTIONS);
        assertThat(guest.received()).as("what the guest received").allSatisfy(r -> assertThat(r.intact()).as(r.detail()).isTrue());
        assertThat(guest.received().stream().mapToLong(ChecksumGuest.Received::upLength).sum()).isEqualTo(up);
        await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.activeConnections() == 0);
        await().atMost(Duration.ofSeconds(30)).pollInSameThread()
                .untilAsserted(() -> assertThat(ProcessResources.fds().of("socket")).as("open sockets")
                        .isLessThanOrEqualTo(socketsBefore));
    }

    /** 0 and tiny lengths often, since edge cases live there; otherwise anything up to 4 MiB. */
    private static long length(Random random) {
        return switch (random.nextInt(10)) {
            case 0 -> 0;
            case 1 -> 1 + random.nextInt(100);
            default -> random.nextInt(MAX_LENGTH + 1);
        };
    }

    /** Runs one connection; returns "" when both checksums matched, else what went wrong. */
    private String transfer(Plan plan, Semaphore connecting, CountDownLatch connected, CountDownLatch go,
                            ExecutorService threads) {
        SSLSocket socket;
        try {
            connecting.acquire();
            try {
                socket = SoakClients.connect(client, port, "echo.localhost");
            } finally {
                connecting.release();
            }
        } catch (Exception e) {
            connected.countDown();
            return plan + ": connect: " + e;
        }
        try (socket) {
            socket.setSoTimeout(120_000);
            connected.countDown();
            go.await();
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            Future<byte[]> sent = threads.submit(() -> {
                out.writeLong(plan.upLength());
                out.writeLong(plan.downLength());
                out.writeInt(plan.downOffset());
                byte[] sha = ChecksumGuest.sendPattern(out, pattern, plan.upOffset(), plan.upLength());
                out.write(sha);
                out.flush();
                return sha;
            });
            DataInputStream in = new DataInputStream(socket.getInputStream());
            MessageDigest digest = ChecksumGuest.sha256();
            byte[] buffer = new byte[64 * 1024];
            for (long left = plan.downLength(); left > 0; ) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    return plan + ": download ended " + left + " bytes early";
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
            byte[] downArrived = digest.digest();
            byte[] downSent = readChecksum(in);
            byte[] upArrived = readChecksum(in);
            byte[] upSent = sent.get();
            int after = in.read();
            StringBuilder problems = new StringBuilder();
            if (!Arrays.equals(downArrived, downSent)) {
                problems.append(" download sha256 ").append(hex(downArrived)).append(" != guest's ").append(hex(downSent));
            }
            if (!Arrays.equals(upArrived, upSent)) {
                problems.append(" upload sha256 at the guest ").append(hex(upArrived)).append(" != ").append(hex(upSent));
            }
            if (after != -1) {
                problems.append(" a byte after the last checksum: ").append(after);
            }
            return problems.isEmpty() ? "" : plan + ":" + problems;
        } catch (Exception e) {
            return plan + ": " + e;
        }
    }

    private static byte[] readChecksum(DataInputStream in) throws IOException {
        byte[] sha = new byte[32];
        in.readFully(sha);
        return sha;
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}

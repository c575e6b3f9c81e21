package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that stops reading in the middle of a large download from a real nginx guest: the forwarder pauses
 * the guest instead of buffering, so its buffer memory stays flat for the whole pause, and the download then
 * completes byte for byte.
 *
 * <p>CI downloads 256 MiB and pauses 5 s; the full test 1 GiB and 30 s:
 * {@code ./run-tests -Dtest='*SoakTest' -Dsoak.full=true}.
 */
@Tag("e2e")
class SlowReaderSoakTest {
    private static final String GUEST_IP = "10.213.23.2";
    private static final String GUEST_RANGE = "10.213.23.0/24";
    private static final int FILE_MIB = Soak.size(256, 1024);
    private static final Duration PAUSE = Soak.duration(Duration.ofSeconds(5), Duration.ofSeconds(30));
    /**
     * What the forwarder may hold for this one connection above its idle level. The relay stops reading a side
     * once the other side's outbound buffer passes the 64 KiB high water mark (app/Forwarder.java), so it holds
     * at most 64 KiB queued plus one read (up to 64 KiB) plus TLS records being built, per direction: well under
     * 1 MiB. The rest is allocator granularity (the adaptive allocator takes memory in chunks of up to a few
     * MiB). A forwarder that kept reading would hold a large share of the 128+ MiB still to come.
     */
    private static final long BOUND = 8L << 20;

    @TempDir
    static Path work;

    private static UnreachableRange route;
    private static GuestVm vm;
    private static Forwarder forwarder;
    private static SSLContext client;
    private static String fileSha256;
    private static int port;

    @BeforeAll
    static void startGuestAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        Path files = Files.createDirectories(work.resolve("files"));
        fileSha256 = ForwarderEndToEndTest.writeRandomFile(files.resolve("big.bin"), FILE_MIB);
        vm = GuestVm.start(work, "app1", GUEST_IP, files);
        vm.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");
        TestCertificates.Issued certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "app1.localhost");
        port = TestPorts.free();
        forwarder = SoakForwarders.inNamespaces(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=443"));
        client = SoakClients.context(certs.caFile());
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
    void forwarderMemoryStaysFlatWhileTheClientStopsReadingAndTheDownloadCompletesIntact() throws Exception {
        // Warm up: the allocators take their first chunks and the TLS and epoll paths are loaded.
        try (SSLSocket socket = SoakClients.connect(client, port, "app1.localhost")) {
            assertThat(SoakClients.get(socket, "app1.localhost", "/whoami").status()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> forwarder.activeConnections() == 0);
        NettyBuffers idle = NettyBuffers.now();

        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        long total = (long) FILE_MIB << 20;
        AtomicReference<NettyBuffers> peak = new AtomicReference<>(idle);
        AtomicLong samples = new AtomicLong();
        long read;
        try (SSLSocket socket = SoakClients.connect(client, port, "app1.localhost", 64 * 1024)) {
            socket.getOutputStream().write(("GET /files/big.bin HTTP/1.1\r\nHost: app1.localhost\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200 ")
                    .containsIgnoringCase("content-length: " + total + "\r\n");

            read = copy(in, digest, total / 2);
            // The client stops reading. The forwarder must stop reading the guest within its water marks and
            // hold that level for the whole pause.
            await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(100)).pollInSameThread()
                    .during(PAUSE).atMost(PAUSE.plusSeconds(10))
                    .until(() -> {
                        NettyBuffers now = NettyBuffers.now();
                        samples.incrementAndGet();
                        peak.accumulateAndGet(now, (a, b) -> a.allocated() >= b.allocated() ? a : b);
                        return now.allocated() - idle.allocated() <= BOUND;
                    });
            read += copy(in, digest, Long.MAX_VALUE);
        }
        // Its access log line first, so it does not land in the middle of ours.
        await().atMost(Duration.ofSeconds(10)).until(() -> forwarder.activeConnections() == 0);
        System.out.printf(Locale.ROOT, "soak[%s] slow reader, %d MiB, paused %ds at half: idle %s; peak of %d samples "
                        + "during the pause %s (%s above idle, bound %s)%n",
                Soak.mode(), FILE_MIB, PAUSE.toSeconds(), idle, samples.get(), peak.get(),
                ProcessResources.mib(peak.get().allocated() - idle.allocated()), ProcessResources.mib(BOUND));
        assertThat(peak.get().allocated() - idle.allocated()).as("forwarder buffers above idle at their peak")
                .isLessThanOrEqualTo(BOUND);
        assertThat(read).as("body bytes").isEqualTo(total);
        assertThat(HexFormat.of().formatHex(digest.digest())).as("SHA-256 of the download").isEqualTo(fileSha256);
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < end.length) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("end of stream inside the response head: " + head);
            }
            head.write(b);
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /** Reads up to {@code limit} bytes (or to the end of the stream) into the digest; returns how many. */
    private static long copy(InputStream in, MessageDigest digest, long limit) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long copied = 0;
        while (copied < limit) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, limit - copied));
            if (n < 0) {
                break;
            }
            digest.update(buffer, 0, n);
            copied += n;
        }
        return copied;
    }
}

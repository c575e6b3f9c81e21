package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Metadata that parses but names a {@code netns} entry that is no network namespace: the dial fails with a reason
 * saying so, the client gets a 502, and a connection relayed to a good VM before it, and new ones, keep working.
 */
@Tag("e2e")
class BadMetadataEndToEndTest {
    private static final String GUEST_IP = "10.213.24.2";
    private static final String GUEST_RANGE = "10.213.24.0/24";
    private static final Path NETNS_ROOT = Path.of("/run/netns");

    @TempDir
    static Path work;

    private static final List<Path> fakeEntries = new ArrayList<>();
    private static UnreachableRange route;
    private static Path configRoot;
    private static TestCertificates.Issued certs;
    private static GuestVm good;
    private static TestForwarder forwarder;
    private static AccessLogCapture log;
    private static Curl https;
    private static int port;
    private static SSLSocket keeper;

    @BeforeAll
    static void startGoodVmAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        configRoot = Files.createDirectories(work.resolve("vm.d"));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "good.localhost", "file.localhost", "directory.localhost", "fifo.localhost");
        good = GuestVm.start(work, "good", GUEST_IP, Files.createDirectories(work.resolve("files")));
        good.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"good\"}");
        log = new AccessLogCapture();
        port = TestPorts.free();
        forwarder = TestForwarder.start(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=443"));
        https = new Curl(certs.caFile(), port);

        keeper = (SSLSocket) TestCertificates.trustingClient(certs.caFile()).getSocketFactory()
                .createSocket("127.0.0.1", port);
        SSLParameters parameters = keeper.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName("good.localhost")));
        keeper.setSSLParameters(parameters);
        keeper.setSoTimeout(10_000);
        assertThat(keeperGet()).isEqualTo(good.whoami());
    }

    @AfterAll
    static void cleanUp() throws Exception {
        try {
            if (keeper != null) {
                keeper.close();
            }
            if (forwarder != null) {
                forwarder.close();
            }
        } finally {
            if (good != null) {
                good.close();
            }
            for (Path entry : fakeEntries) {
                Shell.quietly("rm", "-rf", entry.toString());
            }
            if (route != null) {
                route.close();
            }
            if (log != null) {
                log.close();
            }
        }
    }

    @AfterEach
    void othersKeepWorking() throws IOException {
        assertThat(keeperGet()).as("the connection relayed before").isEqualTo(good.whoami());
        Curl.Response fresh = https.get("good.localhost", "/whoami");
        assertThat(fresh.status()).as(fresh.stderr()).isEqualTo(200);
        assertThat(fresh.body()).isEqualTo(good.whoami());
    }

    /** What stands in {@code /run/netns} under the name a VM's meta.json gives. */
    enum Entry {
        EMPTY_FILE, DIRECTORY;

        void create(Path path) throws IOException {
            switch (this) {
                case EMPTY_FILE -> Files.createFile(path);
                case DIRECTORY -> Files.createDirectory(path);
            }
        }

        String vmName() {
            return this == EMPTY_FILE ? "file" : "directory";
        }
    }

    @ParameterizedTest(name = "netns names {0}")
    @EnumSource(Entry.class)
    void netnsThatIsNoNamespaceGets502NamingTheReason(Entry kind) throws Exception {
        Path entry = fakeEntry();
        kind.create(entry);
        writeMeta(kind.vmName(), entry.getFileName().toString());

        Curl.Response response = awaitRouted(kind.vmName());
        assertThat(response.status()).as(response.stderr()).isEqualTo(502);
        assertThat(response.body()).contains("VM " + kind.vmName() + " is not reachable", "is not a network namespace");
        AccessLogCapture.Line line = lastLineFor(kind.vmName() + ".localhost");
        assertThat(line.outcome()).isEqualTo("dial_failed");
        assertThat(line.reason()).contains(entry + " is not a network namespace");
    }

    /**
     * A FIFO is the nastiest thing a netns entry can be: {@code open(O_RDONLY)} on it waits for a writer. The dial
     * opens the entry on the event loop, so this must not hold that loop (and the connections on it) hostage.
     *
     * <p>The entry is opened on an event loop: without {@code O_NONBLOCK} open() would wait for a writer and stall
     * every connection on that loop.
     */
    @Test
    void netnsThatIsAFifoIsRefusedWithoutStallingOtherConnections() throws Exception {
        Path entry = fakeEntry();
        Files.createFile(entry);
        writeMeta("fifo", entry.getFileName().toString());
        // Route first while the entry is a harmless file, then swap in the FIFO.
        assertThat(awaitRouted("fifo").status()).isEqualTo(502);
        Files.delete(entry);
        Shell.run("mkfifo", entry.toString()).orThrow();
        try {
            CompletableFuture<Curl.Response> toFifo = CompletableFuture.supplyAsync(
                    () -> https.get("fifo.localhost", "/whoami", "--max-time", "5"));
            // Sequential new connections land on every event loop in turn.
            for (int i = 0; i < 6; i++) {
                Curl.Response response = https.get("good.localhost", "/whoami", "--max-time", "3");
                assertThat(response.status()).as("good connection %d: %s", i, response.stderr()).isEqualTo(200);
            }
            Curl.Response refused = toFifo.get(30, TimeUnit.SECONDS);
            assertThat(refused.status()).as(refused.stderr()).isEqualTo(502);
            assertThat(refused.body()).contains("is not a network namespace");
        } finally {
            // A reader stuck in open() is released by a writer; no reader left means nothing to release.
            Shell.quietly("timeout", "2", "sh", "-c", "exec 3>" + entry);
        }
    }

    private static Path fakeEntry() throws IOException {
        Files.createDirectories(NETNS_ROOT);
        Path entry = NETNS_ROOT.resolve("mfwd-fake-" + UUID.randomUUID().toString().substring(0, 8));
        fakeEntries.add(entry);
        return entry;
    }

    private static void writeMeta(String name, String netns) throws IOException {
        String id = UUID.randomUUID().toString();
        Path folder = Files.createDirectories(configRoot.resolve(id));
        Path tmp = folder.resolve("meta.json.tmp");
        Files.writeString(tmp, """
                {"id": "%s", "createdAt": "2026-02-01T00:00:00Z", "guestIP": "%s", "netns": "%s", "tags": {"app": "%s"}}
                """.formatted(id, GUEST_IP, netns, name));
        Files.move(tmp, folder.resolve("meta.json"), StandardCopyOption.ATOMIC_MOVE);
    }

    /** Waits until the resolver has picked up the VM's meta.json (404 before, the dial's answer after). */
    private static Curl.Response awaitRouted(String name) {
        return await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> https.get(name + ".localhost", "/whoami"), response -> response.status() != 404);
    }

    private static AccessLogCapture.Line lastLineFor(String serverName) {
        return await().atMost(Duration.ofSeconds(5)).until(
                () -> log.lines().stream().filter(line -> serverName.equals(line.serverName())).toList(),
                lines -> !lines.isEmpty()).getLast();
    }

    /** One keep-alive request on the keeper connection; returns the body. */
    private static String keeperGet() throws IOException {
        keeper.getOutputStream().write("GET /whoami HTTP/1.1\r\nHost: good.localhost\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        keeper.getOutputStream().flush();
        InputStream in = keeper.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new UncheckedIOException(new IOException("keeper closed after: " + head));
            }
            head.write(b);
        }
        String headers = head.toString(StandardCharsets.US_ASCII);
        assertThat(headers).startsWith("HTTP/1.1 200 ");
        int length = headers.lines().filter(l -> l.toLowerCase().startsWith("content-length:"))
                .map(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).strip())).findFirst().orElseThrow();
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Faults of a VM or of the host's files while the forwarder runs: the affected connection ends with the error its
 * client can show and one access-log line naming the outcome, and a download from another VM that is open across
 * the fault goes on and arrives intact.
 */
@Tag("e2e")
class FaultsEndToEndTest {
    private static final String GUEST_IP = "10.213.25.2";
    private static final String GUEST_RANGE = "10.213.25.0/25";
    private static final int STEADY_MIB = 32;
    private static final String STEADY_PATH = "/files/steady.bin";
    private static final String[] NAMES = {"*.localhost", "steady.localhost", "refuses.localhost",
            "silent.localhost", "resets.localhost", "doomed.localhost", "closes.localhost",
            "halfclose.localhost"};

    @TempDir
    static Path work;

    private static UnreachableRange route;
    private static Path configRoot;
    private static Path files;
    private static String steadySha256;
    private static TestCertificates.Issued certs;
    private static GuestVm steady;
    private static TestForwarder forwarder;
    private static int port;
    private static Curl https;
    private static AccessLog accessLog;

    private final List<AutoCloseable> cleanups = new ArrayList<>();

    @BeforeAll
    static void startSteadyVmAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        accessLog = AccessLog.capture();
        configRoot = Files.createDirectories(work.resolve("vm.d"));
        files = Files.createDirectories(work.resolve("files"));
        steadySha256 = ForwarderEndToEndTest.writeRandomFile(files.resolve("steady.bin"), STEADY_MIB);
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")), NAMES);
        steady = GuestVm.start(work, "steady", GUEST_IP, files);
        writeSteadyMeta();
        port = TestPorts.free();
        forwarder = TestForwarder.start(configRoot, certs, Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + port + "=443",
                "FWD_DIAL_TIMEOUT_SECONDS", "1"));
        https = new Curl(certs.caFile(), port);
    }

    private static void writeSteadyMeta() {
        steady.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"steady\"}");
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (forwarder != null) {
            forwarder.close();
        }
        if (steady != null) {
            steady.close();
        }
        if (accessLog != null) {
            accessLog.close();
        }
        if (route != null) {
            route.close();
        }
    }

    @AfterEach
    void cleanUpTest() throws Exception {
        for (AutoCloseable cleanup : cleanups.reversed()) {
            cleanup.close();
        }
    }

    @Test
    void guestWithNoListenerRefusesAndTheClientGets502ConnectionRefused() throws Exception {
        GuestVm vm = track(GuestVm.create(work, "refuses", GUEST_IP));
        writeMeta(vm, "refuses");
        SteadyDownload other = startSteady();

        Curl.Response response = firstRouted("refuses.localhost", "/", "-i").response();

        assertThat(response.status()).as(response.stderr()).isEqualTo(502);
        assertThat(response.body()).contains("Content-Type: text/plain", "Connection: close",
                "VM refuses is not reachable", "connection refused");
        AccessLog.Line line = accessLog.awaitLine("refuses.localhost", "dial_failed");
        assertThat(line.reason()).contains("connection refused");
        assertIntact(other);
    }

    @Test
    void guestThatNeverAnswersTheSynGets502AfterTheDialTimeout() throws Exception {
        FaultGuest guest = track(FaultGuest.create("silent", GUEST_IP));
        guest.listen(443, 1);
        // Never accepted: a backlog of 1 queues two connections, after that the guest's kernel drops every SYN.
        guest.connectFromInside(443);
        guest.connectFromInside(443);
        guest.writeMeta(configRoot, "2026-02-01T00:00:00Z");
        cleanups.add(() -> deleteTree(configRoot.resolve(guest.id())));
        SteadyDownload other = startSteady();

        Timed routed = firstRouted("silent.localhost", "/");

        assertThat(routed.response().status()).as(routed.response().stderr()).isEqualTo(502);
        assertThat(routed.response().body()).contains("VM silent is not reachable", "timed out after 1000 ms");
        assertThat(routed.elapsed()).isBetween(Duration.ofMillis(900), Duration.ofSeconds(5));
        assertThat(accessLog.awaitLine("silent.localhost", "dial_failed").reason()).contains("timed out");
        assertIntact(other);
    }

    @Test
    void guestResetMidResponseEndsTheClientsTransferEarly() throws Exception {
        int half = 256 * 1024;
        CountDownLatch reset = new CountDownLatch(1);
        FaultGuest guest = track(FaultGuest.create("resets", GUEST_IP));
        guest.serve(443, connection -> {
            readRequestHead(connection.getInputStream());
            OutputStream out = connection.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + 4 * half + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[half]);
            out.flush();
            reset.await(30, TimeUnit.SECONDS);
            connection.setSoLinger(true, 0); // close() now sends RST instead of FIN
        });
        guest.writeMeta(configRoot, "2026-02-01T00:00:00Z");
        cleanups.add(() -> deleteTree(configRoot.resolve(guest.id())));
        awaitRouted("resets");
        SteadyDownload other = startSteady();

        Path body = work.resolve("reset-body.bin");
        Path errors = work.resolve("reset-curl.err");
        Process curl = trackProcess(new ProcessBuilder("curl", "-sS", "--max-time", "30", "--cacert", certs.caFile().toString(),
                "--resolve", "resets.localhost:" + port + ":127.0.0.1", "-o", body.toString(),
                "https://resets.localhost:" + port + "/big")
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errors.toFile()).start());
        // curl writes through stdio buffers, so the file shows the first half only in part until curl exits.
        await().atMost(Duration.ofSeconds(15)).until(() -> Files.exists(body) && Files.size(body) > 0);
        reset.countDown();

        assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
        // 18: transfer closed with bytes outstanding; 56: failure receiving network data.
        assertThat(curl.exitValue()).as(Files.readString(errors)).isIn(18, 56);
        assertThat(Files.size(body)).isPositive().isLessThanOrEqualTo(half);
        AccessLog.Line line = accessLog.awaitLine("resets.localhost", "guest_error");
        assertThat(line.reason()).containsIgnoringCase("reset");
        assertIntact(other);
    }

    /*
     * The guest's FIN arrives while reads from it are paused for a slow client. Netty 4.2.13 to 4.2.18 drop such a
     * socket from epoll while keeping it marked as registered, so resuming reads failed with "epoll_ctl(..) failed
     * with error(-2)" and the relay was aborted; the project pins Netty 4.2.12 for that reason (see pom.xml).
     */
    @Test
    void guestFinArrivingWhileTheClientIsNotReadingEndsAsOkWithEveryByte() throws Exception {
        byte[] response = new byte[4 << 20];
        new Random(7).nextBytes(response);
        String head = "HTTP/1.1 200 OK\r\nContent-Length: " + response.length + "\r\nConnection: close\r\n\r\n";
        CountDownLatch closed = new CountDownLatch(1);
        FaultGuest guest = track(FaultGuest.create("closes", GUEST_IP));
        // Our socket toward this guest lives in its namespace: a 4 MiB receive buffer there takes the whole tail
        // of the response and the FIN while the client reads nothing, so the FIN arrives with reads paused.
        guest.sysctl("net.ipv4.tcp_rmem", "4096 4194304 4194304");
        guest.serve(443, connection -> {
            readRequestHead(connection.getInputStream());
            OutputStream out = connection.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(response);
            connection.close(); // FIN after the last byte, as a guest that finishes and exits
            closed.countDown();
        });
        guest.writeMeta(configRoot, "2026-02-01T00:00:00Z");
        cleanups.add(() -> deleteTree(configRoot.resolve(guest.id())));
        awaitRouted("closes");

        SSLSocket client = track(tlsClient(port, "closes.localhost", 4096));
        client.getOutputStream().write("GET /big HTTP/1.1\r\nHost: closes\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        client.getOutputStream().flush();
        assertThat(closed.await(30, TimeUnit.SECONDS)).as("guest wrote everything and closed").isTrue();
        // The guest's FIN has reached our socket in its namespace (CLOSE-WAIT) while the client still reads nothing.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> !guest.exec("ss", "-Htn", "state", "close-wait").isBlank());
        byte[] received = client.getInputStream().readAllBytes();
        // The guest's end reached the client as a half-close; the connection ends when the client ends its side.
        client.close();

        String expected = head + new String(response, StandardCharsets.ISO_8859_1);
        AccessLog.Line line = accessLog.awaitLine("the relayed response",
                l -> "closes.localhost".equals(l.serverName()) && !"0".equals(l.get("bytesIn")));
        assertThat(received.length).as("bytes the client received; access log: " + line).isEqualTo(expected.length());
        assertThat(new String(received, StandardCharsets.ISO_8859_1)).isEqualTo(expected);
        assertThat(line.outcome()).isEqualTo("ok");
    }

    /*
     * The same on the client's side: its FIN arrives while the dial is in flight (reads paused); once the guest
     * answers, the half-close is passed on and the answer still comes back.
     */
    @Test
    void rawClientThatHalfClosesBeforeTheGuestAcceptsStillGetsItsAnswer() throws Exception {
        FaultGuest guest = track(FaultGuest.create("late", GUEST_IP));
        ServerSocketChannel server = guest.listen(22, 1);
        // A full accept queue drops our SYN; the kernel sends it again after a second, when there is room.
        guest.connectFromInside(22).close();
        guest.connectFromInside(22).close();
        Path lateRoot = Files.createDirectories(work.resolve("late.d"));
        guest.writeMeta(lateRoot, "2026-02-01T00:00:00Z");
        int rawPort = TestPorts.free();
        track(TestForwarder.start(lateRoot, certs, Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + rawPort + "=22", "FWD_DIAL_TIMEOUT_SECONDS", "5")));

        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress("127.0.0.1", rawPort), 5_000);
            client.setSoTimeout(30_000);
            // Our dial from inside the guest's namespace is under way, its SYN dropped.
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                    .until(() -> !guest.exec("ss", "-Htn", "state", "syn-sent").isBlank());
            client.getOutputStream().write("stats\n".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput(); // the request is complete, as `printf 'stats\n' | nc -N` sends it
            guest.serve(server, answerAfterEndOfRequest());
            String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

            AccessLog.Line line = accessLog.awaitLine("the half-closed request's line",
                    l -> l.listener().contains(":" + rawPort + "="));
            assertThat(answer).as("access log: " + line).isEqualTo("received 6");
            assertThat(line.outcome()).isEqualTo("ok");
        }
    }

    /** A guest that reads the request to its end (the client's half-close) and only then answers. */
    private static FaultGuest.Conversation answerAfterEndOfRequest() {
        return connection -> {
            long length = connection.getInputStream().transferTo(OutputStream.nullOutputStream());
            if (length > 0) {
                connection.getOutputStream().write(("received " + length).getBytes(StandardCharsets.US_ASCII));
            }
        };
    }

    @Test
    void namespaceDeletedMidTransferKeepsTheOpenSocketUntilTheGuestDiesAndNewConnectionsGet502() throws Exception {
        GuestVm vm = track(GuestVm.start(work, "doomed", GUEST_IP, files));
        writeMeta(vm, "doomed");
        assertThat(firstRouted("doomed.localhost", "/whoami").response().body()).isEqualTo(vm.whoami());
        SteadyDownload other = startSteady();
        SteadyDownload doomed = track(SteadyDownload.start(certs.caFile(), port, "doomed.localhost", STEADY_PATH));
        doomed.awaitProgress(256 * 1024);

        long beforeDelete = doomed.bytes();
        vm.deleteNamespace();

        // The guest's socket and ours keep the deleted namespace alive in the kernel: the transfer goes on.
        doomed.awaitProgress(1 << 20);
        Curl.Response fresh = https.get("doomed.localhost", "/whoami");
        assertThat(fresh.status()).as(fresh.stderr()).isEqualTo(502);
        assertThat(fresh.body()).contains("VM doomed is not reachable", vm.netns(), "not found");
        assertThat(accessLog.awaitLine("doomed.localhost", "dial_failed").reason()).contains("not found");

        killNginx(vm);
        SteadyDownload.Result cut = doomed.finish();

        System.err.printf("namespace deleted after %d bytes; the client read %d bytes in all (of %d)%n",
                beforeDelete, cut.bytes(), cut.contentLength());
        assertThat(cut.complete()).as(cut.toString()).isFalse();
        assertThat(cut.bytes()).isLessThan((long) STEADY_MIB << 20);
        AccessLog.Line line = accessLog.awaitLine("the cut transfer's line", l -> "doomed.localhost".equals(l.serverName())
                && !"dial_failed".equals(l.outcome()) && Long.parseLong(l.get("bytesOut")) > (1 << 20));
        assertThat(line.outcome()).as(line.toString()).isEqualTo("ok");
        assertIntact(other);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"the config root", "the VM's folder"})
    void metadataRemovedAndRecreatedTakesTheRouteAwayThenBack(String what) throws Exception {
        accessLog.clear();
        SteadyDownload other = startSteady();
        Path removed = what.equals("the config root") ? configRoot : configRoot.resolve(steady.id());

        deleteTree(removed);
        long start = System.nanoTime();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> https.get("steady.localhost", "/whoami").status() == 404);
        Duration gone = Duration.ofNanos(System.nanoTime() - start);
        Curl.Response missing = https.get("steady.localhost", "/whoami");
        assertThat(missing.body()).contains("no VM named steady on this host");
        assertThat(accessLog.awaitLine("steady.localhost", "unknown_vm").reason()).isEqualTo("no VM named steady on this host");

        Files.createDirectories(configRoot);
        writeSteadyMeta();
        start = System.nanoTime();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> https.get("steady.localhost", "/whoami").status() == 200);
        Duration back = Duration.ofNanos(System.nanoTime() - start);

        System.err.printf("metadata fault (%s): 404 after %d ms, 200 again after %d ms%n",
                what, gone.toMillis(), back.toMillis());
        assertIntact(other);
    }

    @Test
    void certificateFilesReplacedWhileRunningServeNewHandshakesAndLeaveOpenOnesAlone() throws Exception {
        Path pki = Files.createDirectories(work.resolve("pki-live"));
        Path certFile = Files.copy(certs.certFile(), pki.resolve("cert.pem"));
        Path keyFile = Files.copy(certs.keyFile(), pki.resolve("key.pem"));
        int livePort = TestPorts.free();
        track(TestForwarder.start(configRoot,
                new TestCertificates.Issued(certFile, keyFile, certs.caFile()),
                Map.of("FWD_LISTENERS", "127.0.0.1:" + livePort + "=443")));
        X509Certificate loaded = leafOf(Files.readAllBytes(certFile));
        SteadyDownload open = track(SteadyDownload.start(certs.caFile(), livePort, "steady.localhost", STEADY_PATH));
        open.awaitProgress(256 * 1024);

        TestCertificates.Issued next = TestCertificates.issue(Files.createDirectories(work.resolve("pki-next")), NAMES);
        // Written over in place, as an operator's cp or a renewal hook would.
        Files.write(certFile, Files.readAllBytes(next.certFile()));
        Files.write(keyFile, Files.readAllBytes(next.keyFile()));
        assertThat(leafOf(Files.readAllBytes(certFile))).isNotEqualTo(loaded);

        open.awaitProgress(1 << 20);
        // Rotation: within a second new handshakes get the new pair; the open transfer keeps its session.
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(100))
                .until(() -> new Curl(next.caFile(), livePort).get("steady.localhost", "/whoami").status() == 200);
        Curl.Response newCa = new Curl(next.caFile(), livePort).get("steady.localhost", "/whoami");
        assertThat(newCa.status()).as(newCa.stderr()).isEqualTo(200);
        assertThat(newCa.body()).isEqualTo(steady.whoami());
        Curl.Response oldCa = new Curl(certs.caFile(), livePort).get("steady.localhost", "/whoami");
        assertThat(oldCa.exitCode()).as("a client trusting only the old CA: " + oldCa.stderr()).isEqualTo(60);

        SteadyDownload.Result result = open.finish();
        assertThat(result.complete()).as(result.toString()).isTrue();
        assertThat(result.sha256()).isEqualTo(steadySha256);
        assertThat(accessLog.awaitLine("the open transfer's line", l -> "steady.localhost".equals(l.serverName())
                && l.listener().contains(":" + livePort + "=") && Long.parseLong(l.get("bytesOut")) > (STEADY_MIB << 20))
                .outcome()).isEqualTo("ok");
    }

    private record Timed(Curl.Response response, Duration elapsed) {
    }

    /** Asks until the new VM is routed (no longer 404) and returns that first routed answer and how long it took. */
    private static Timed firstRouted(String host, String path, String... extra) {
        AtomicReference<Timed> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            long start = System.nanoTime();
            Curl.Response response = https.get(host, path, extra);
            last.set(new Timed(response, Duration.ofNanos(System.nanoTime() - start)));
            return response.status() != 404;
        });
        return last.get();
    }

    /** Waits until the resolver routes {@code label} (the name no longer gets 404), without dialing the guest. */
    private static void awaitRouted(String label) {
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                .until(() -> forwarder.routes(label + ".localhost"));
    }

    /** A TLS client with SNI {@code serverName}, handshake done; {@code receiveBuffer} 0 keeps the default. */
    private static SSLSocket tlsClient(int port, String serverName, int receiveBuffer) throws IOException {
        SSLSocket socket = (SSLSocket) TestCertificates.trustingClient(certs.caFile()).getSocketFactory().createSocket();
        try {
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer); // before connect, so the window scale stays small
            }
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(serverName)));
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(30_000);
            socket.startHandshake();
            return socket;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private SteadyDownload startSteady() throws IOException {
        SteadyDownload download = track(SteadyDownload.start(certs.caFile(), port, "steady.localhost", STEADY_PATH));
        download.awaitProgress(256 * 1024);
        return download;
    }

    /** The other VM's download carried bytes after the fault and, read to its end, is byte exact. */
    private static void assertIntact(SteadyDownload download) throws Exception {
        download.awaitProgress(512 * 1024);
        SteadyDownload.Result result = download.finish();
        assertThat(result.complete()).as(result.toString()).isTrue();
        assertThat(result.bytes()).isEqualTo((long) STEADY_MIB << 20);
        assertThat(result.sha256()).isEqualTo(steadySha256);
    }

    private void writeMeta(GuestVm vm, String app) {
        vm.writeMeta(configRoot, "2026-02-01T00:00:00Z", "\"tags\": {\"app\": \"" + app + "\"}");
        cleanups.add(() -> deleteTree(configRoot.resolve(vm.id())));
    }

    private <T extends AutoCloseable> T track(T resource) {
        cleanups.add(resource);
        return resource;
    }

    private Process trackProcess(Process process) {
        cleanups.add(process::destroyForcibly);
        return process;
    }

    /** Kills nginx's master and workers at once, as a VM whose guest dies would. */
    private static void killNginx(GuestVm vm) throws IOException {
        long master = Long.parseLong(Files.readString(vm.dir().resolve("nginx.pid")).strip());
        ProcessHandle handle = ProcessHandle.of(master).orElseThrow();
        // The master first: it respawns a worker that dies before it.
        List<ProcessHandle> all = Stream.concat(Stream.of(handle), handle.descendants()).toList();
        all.forEach(ProcessHandle::destroyForcibly);
        await().atMost(Duration.ofSeconds(10)).until(() -> all.stream().noneMatch(ProcessHandle::isAlive));
    }

    private static String readRequestHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed in the request head");
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    private static X509Certificate leafOf(byte[] pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem));
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}

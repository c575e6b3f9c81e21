package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The connection limits against real guests: beyond FWD_MAX_CONNECTIONS or FWD_MAX_CONNECTIONS_PER_VM each
 * protocol's client is refused in the form it can show, with an access-log line naming the limit, while the
 * connections already open go on; FWD_CONNECTION_BUFFER_BYTES bounds what the forwarder holds for a slow reader.
 */
@Tag("e2e")
class LimitsEndToEndTest {
    private static final String GUEST_IP = "10.213.25.130";
    private static final String GUEST_RANGE = "10.213.25.128/25";
    private static final String GLOBAL_LIMIT_REASON = "too many connections to this host (FWD_MAX_CONNECTIONS); try again later";

    @TempDir
    static Path work;

    private static UnreachableRange route;
    private static Path configRoot;
    private static TestCertificates.Issued certs;
    private static GuestVm alpha;
    private static GuestVm beta;
    private static AccessLog accessLog;

    private final List<AutoCloseable> cleanups = new ArrayList<>();

    @BeforeAll
    static void startVms() throws Exception {
        RootRequired.check();
        GuestPackages.require(RedisCli.REDIS_CLI, "redis-tools");
        route = UnreachableRange.add(GUEST_RANGE);
        accessLog = AccessLog.capture();
        configRoot = Files.createDirectories(work.resolve("vm.d"));
        Path files = Files.createDirectories(work.resolve("files"));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "alpha.localhost", "beta.localhost");
        alpha = GuestVm.start(work, "alpha", GUEST_IP, files);
        alpha.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"alpha\"}");
        beta = GuestVm.start(work, "beta", GUEST_IP, files);
        beta.writeMeta(configRoot, "2026-01-02T00:00:00Z", "\"tags\": {\"app\": \"beta\"}");
    }

    @AfterAll
    static void cleanUp() {
        if (alpha != null) {
            alpha.close();
        }
        if (beta != null) {
            beta.close();
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
    void beyondMaxConnectionsEachProtocolIsRefusedInItsOwnFormAndOpenConnectionsGoOn() throws Exception {
        int https = TestPorts.free();
        int postgres = TestPorts.free();
        int redis = TestPorts.free();
        int kafka = TestPorts.free();
        int raw = TestPorts.free();
        track(TestForwarder.start(configRoot, certs, Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + https + "=443,127.0.0.1:" + postgres + "=5432,127.0.0.1:" + redis
                        + "=6379,127.0.0.1:" + kafka + "=9092,127.0.0.1:" + raw + "=22/raw",
                "FWD_MAX_CONNECTIONS", "3")));
        List<HeldHttps> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(track(HeldHttps.open(https, "alpha.localhost")));
        }

        Curl.Response refused = new Curl(certs.caFile(), https).get("alpha.localhost", "/whoami", "-i");
        assertThat(refused.status()).as(refused.stderr()).isEqualTo(503);
        assertThat(refused.body()).startsWith("HTTP/1.1 503 Service Unavailable")
                .contains("Content-Type: text/plain", "Connection: close", GLOBAL_LIMIT_REASON);
        assertOverloadedLine(https, "FWD_MAX_CONNECTIONS");

        Shell.Result psql = new Psql(postgres).run("alpha.localhost", "sslmode=require", "-c", "select 1");
        assertThat(psql.exitCode()).isEqualTo(2);
        assertThat(psql.stderr()).contains("FATAL:  " + GLOBAL_LIMIT_REASON);
        assertThat(postgresRefusal(postgres)).containsEntry('S', "FATAL").containsEntry('C', "53300")
                .containsEntry('M', GLOBAL_LIMIT_REASON);
        assertOverloadedLine(postgres, "FWD_MAX_CONNECTIONS");

        RedisCli.Result ping = new RedisCli(certs.caFile(), redis).run("alpha.localhost", "PING");
        assertThat(ping.output().strip()).isEqualTo("ERR " + GLOBAL_LIMIT_REASON);
        assertOverloadedLine(redis, "FWD_MAX_CONNECTIONS");

        assertThatThrownBy(() -> tlsClient(kafka, "alpha.localhost").close())
                .isInstanceOf(SSLException.class).hasMessageContaining("internal_error");
        assertOverloadedLine(kafka, "FWD_MAX_CONNECTIONS");

        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", raw), 5_000);
            socket.setSoTimeout(10_000);
            assertThat(socket.getInputStream().read()).as("raw listener closes at once").isEqualTo(-1);
        }
        assertOverloadedLine(raw, "FWD_MAX_CONNECTIONS");

        for (HeldHttps connection : held) {
            assertThat(connection.get("/whoami")).isEqualTo(alpha.whoami());
        }
        held.removeFirst().close();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> new Curl(certs.caFile(), https).get("alpha.localhost", "/whoami").status() == 200);
    }

    @Test
    void beyondMaxConnectionsPerVmThatVmIsRefusedWhileAnotherAccepts() throws Exception {
        int https = TestPorts.free();
        track(TestForwarder.start(configRoot, certs, Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + https + "=443", "FWD_MAX_CONNECTIONS_PER_VM", "2")));
        Curl curl = new Curl(certs.caFile(), https);
        HeldHttps first = track(HeldHttps.open(https, "alpha.localhost"));
        HeldHttps second = track(HeldHttps.open(https, "alpha.localhost"));

        Curl.Response refused = curl.get("alpha.localhost", "/whoami", "-i");
        Curl.Response other = curl.get("beta.localhost", "/whoami");

        assertThat(refused.status()).as(refused.stderr()).isEqualTo(503);
        assertThat(refused.body()).contains("Content-Type: text/plain",
                "too many connections to VM alpha (FWD_MAX_CONNECTIONS_PER_VM); try again later");
        assertThat(assertOverloadedLine(https, "FWD_MAX_CONNECTIONS_PER_VM").get("vmID")).isEqualTo(alpha.id());
        assertThat(other.status()).as(other.stderr()).isEqualTo(200);
        assertThat(other.body()).isEqualTo(beta.whoami());
        assertThat(second.get("/whoami")).isEqualTo(alpha.whoami());

        first.close();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> curl.get("alpha.localhost", "/whoami").status() == 200);
        assertThat(second.get("/whoami")).isEqualTo(alpha.whoami());
    }

    @Test
    void connectionBufferBytesBoundsWhatTheForwarderHoldsForAReaderThatStops() throws Exception {
        FaultGuest guest = track(FaultGuest.create("sink", GUEST_IP));
        // Kernel buffers on the guest's side stay small and fixed (our socket toward the guest lives in its
        // namespace), so what the guest manages to write measures the forwarder's own buffering.
        guest.sysctl("net.ipv4.tcp_rmem", "4096 65536 65536");
        guest.sysctl("net.ipv4.tcp_wmem", "4096 65536 65536");
        long total = 96L << 20;
        AtomicLong written = new AtomicLong();
        AtomicLong lastWriteNanos = new AtomicLong();
        guest.serve(22, connection -> {
            written.set(0);
            lastWriteNanos.set(System.nanoTime());
            connection.setSendBufferSize(16 * 1024);
            OutputStream out = connection.getOutputStream();
            byte[] chunk = new byte[16 * 1024];
            while (written.get() < total) {
                out.write(chunk);
                written.addAndGet(chunk.length);
                lastWriteNanos.set(System.nanoTime());
            }
            connection.shutdownOutput();
        });
        Path sinkRoot = Files.createDirectories(work.resolve("sink.d"));
        guest.writeMeta(sinkRoot, "2026-01-01T00:00:00Z");

        long small = stalledAt(sinkRoot, 16 * 1024, total, written, lastWriteNanos);
        long large = stalledAt(sinkRoot, 16 << 20, total, written, lastWriteNanos);

        System.err.printf("guest stalled after %d KiB with FWD_CONNECTION_BUFFER_BYTES=16384, after %d KiB with 16 MiB%n",
                small >> 10, large >> 10);
        assertThat(small).as("bytes written with a 16 KiB bound").isLessThan(8L << 20);
        assertThat(large - small).as("the 16 MiB bound holds more").isGreaterThan(8L << 20);
        assertThat(large).as("bytes written with a 16 MiB bound").isLessThan(32L << 20);
    }

    /**
     * Starts a forwarder with {@code bufferBytes}, lets a client with a small receive buffer connect and read
     * nothing until the guest's writes stall, then reads everything; returns what the guest wrote by the stall.
     */
    private long stalledAt(Path sinkRoot, int bufferBytes, long total, AtomicLong written, AtomicLong lastWriteNanos)
            throws Exception {
        int raw = TestPorts.free();
        TestForwarder forwarder = TestForwarder.start(sinkRoot, certs, Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + raw + "=22",
                "FWD_CONNECTION_BUFFER_BYTES", String.valueOf(bufferBytes)));
        try (Socket client = new Socket()) {
            client.setReceiveBufferSize(8 * 1024);
            client.connect(new InetSocketAddress("127.0.0.1", raw), 5_000);
            client.setSoTimeout(30_000);
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> written.get() > 0
                            && System.nanoTime() - lastWriteNanos.get() > TimeUnit.MILLISECONDS.toNanos(500));
            long stalled = written.get();
            assertThat(stalled).as("the guest stalled before it finished").isLessThan(total);
            long read = client.getInputStream().transferTo(OutputStream.nullOutputStream());
            assertThat(read).as("everything arrives once the client reads").isEqualTo(total);
            return stalled;
        } finally {
            forwarder.close();
        }
    }

    private static AccessLog.Line assertOverloadedLine(int port, String limit) {
        AccessLog.Line line = accessLog.awaitLine("an overloaded line on port " + port,
                l -> l.listener().contains(":" + port + "=") && "overloaded".equals(l.outcome()));
        assertThat(line.reason()).contains("(" + limit + ")");
        return line;
    }

    /** SSLRequest, TLS with SNI alpha.localhost, StartupMessage: the fields of the ErrorResponse that follows. */
    private static Map<Character, String> postgresRefusal(int port) throws IOException {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            plain.setSoTimeout(10_000);
            plain.getOutputStream().write(PostgresWire.sslRequest());
            assertThat(plain.getInputStream().read()).as("answer to SSLRequest").isEqualTo('S');
            SSLSocketFactory factory = TestCertificates.trustingClient(certs.caFile()).getSocketFactory();
            try (SSLSocket tls = (SSLSocket) factory.createSocket(plain, "alpha.localhost", port, true)) {
                SSLParameters parameters = tls.getSSLParameters();
                parameters.setServerNames(List.of(new SNIHostName("alpha.localhost")));
                tls.setSSLParameters(parameters);
                tls.startHandshake();
                tls.getOutputStream().write(PostgresWire.startupMessage("postgres", "postgres"));
                tls.getOutputStream().flush();
                PostgresWire.Message error = PostgresWire.read(tls.getInputStream());
                assertThat(error.type()).as(error.bodyText()).isEqualTo('E');
                return PostgresWire.fields(error.body());
            }
        }
    }

    private static SSLSocket tlsClient(int port, String serverName) throws IOException {
        SSLSocket socket = (SSLSocket) TestCertificates.trustingClient(certs.caFile()).getSocketFactory()
                .createSocket("127.0.0.1", port);
        try {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(serverName)));
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            return socket;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T track(T resource) {
        cleanups.add(resource);
        return resource;
    }

    /** An HTTPS keep-alive connection through the forwarder that stays open between requests. */
    private static final class HeldHttps implements AutoCloseable {
        private final SSLSocket socket;
        private final InputStream in;
        private final String host;

        private HeldHttps(SSLSocket socket, String host) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.host = host;
        }

        /** Connects and makes one request, so the connection is relayed to the guest before it is held. */
        static HeldHttps open(int port, String host) throws IOException {
            HeldHttps held = new HeldHttps(tlsClient(port, host), host);
            try {
                held.get("/whoami");
                return held;
            } catch (IOException | RuntimeException e) {
                held.close();
                throw e;
            }
        }

        /** GET {@code path} on this connection; the body of a 200 response. */
        String get(String path) throws IOException {
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String head = readHead();
            assertThat(head).startsWith("HTTP/1.1 200");
            int length = -1;
            for (String line : head.split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(line.indexOf(':') + 1).strip());
                }
            }
            assertThat(length).as("Content-Length in " + head).isNotNegative();
            return new String(in.readNBytes(length), StandardCharsets.UTF_8);
        }

        private String readHead() throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new EOFException("connection closed in the response head: " + head);
                }
                head.write(b);
            }
            return head.toString(StandardCharsets.US_ASCII);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}

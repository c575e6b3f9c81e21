package io.mergen.forwarder.app;

import ch.qos.logback.classic.Level;
import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Hostile and broken input on the TLS listeners, on loopback without root: each case ends with its own outcome
 * and reason in the connection log, and neither a connection relayed before the barrage nor a new one suffers.
 *
 * <p>One forwarder serves the whole class (HTTPS and Kafka listeners, 1 s handshake timeout, at most 5 handshakes
 * per client address); a relayed "keeper" connection stays open across all tests and is checked after each.
 */
class BadInputTest {
    private static final String VM_ID = "0badc0de-0000-4000-8000-000000000024";
    private static final int MAX_HANDSHAKES = 5;

    @TempDir
    static Path work;

    private static EchoGuest guest;
    private static AccessLogCapture log;
    private static TestCertificates.Issued certs;
    private static Forwarder forwarder;
    private static int httpsPort;
    private static int kafkaPort;
    private static SSLSocket keeper;
    private static String keeperAddress;
    private static int rounds;

    @BeforeAll
    static void startForwarderAndKeeper() throws Exception {
        guest = EchoGuest.start();
        log = new AccessLogCapture();
        Path vm = Files.createDirectories(work.resolve("vm.d/vm-1"));
        Files.writeString(vm.resolve("meta.json"), """
                {"id": "%s", "guestIP": "127.0.0.1", "netns": "host", "tags": {"app": "app1"}, "httpPort": %d}
                """.formatted(VM_ID, guest.port()));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")), "*.localhost", "app1.localhost");
        httpsPort = TestPorts.free();
        kafkaPort = TestPorts.free();
        forwarder = startForwarder(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + httpsPort + "=443,127.0.0.1:" + kafkaPort + "=9092",
                "FWD_MAX_HANDSHAKES_PER_CLIENT", String.valueOf(MAX_HANDSHAKES)));

        keeper = tls(httpsPort, RawServerName.of("app1.localhost"));
        keeperAddress = AccessLogCapture.addressOf(keeper);
        roundTrip(keeper, "before the barrage");
    }

    private static Forwarder startForwarder(Map<String, String> overrides) throws InterruptedException {
        Map<String, String> env = new HashMap<>(Map.of(
                "FWD_CONFIG_ROOT", work.resolve("vm.d").toString(),
                "FWD_TLS_CERT_FILE", certs.certFile().toString(),
                "FWD_TLS_KEY_FILE", certs.keyFile().toString(),
                "FWD_HANDSHAKE_TIMEOUT_SECONDS", "1",
                "FWD_DIAL_TIMEOUT_SECONDS", "2",
                "FWD_ADMIN_ADDR", ""));
        env.putAll(overrides);
        Forwarder started = Main.assemble(ForwarderConfig.fromEnvironment(env),
                (roots, transport) -> new LoopbackDialer(transport));
        started.start();
        return started;
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (keeper != null) {
                roundTrip(keeper, "after the barrage");
                keeper.close();
                assertThat(log.awaitLine(keeperAddress).outcome()).isEqualTo("ok");
            }
        } finally {
            if (forwarder != null) {
                forwarder.shutdown(Duration.ZERO);
            }
            if (guest != null) {
                guest.close();
            }
            if (log != null) {
                log.close();
            }
        }
    }

    @BeforeEach
    void keeperStillRelaysBefore() throws IOException {
        log.clear();
        roundTrip(keeper, "before test " + ++rounds);
    }

    @AfterEach
    void othersAreUnharmed() throws IOException {
        roundTrip(keeper, "after test " + rounds);
        String address;
        try (SSLSocket fresh = tls(httpsPort, RawServerName.of("app1.localhost"))) {
            address = AccessLogCapture.addressOf(fresh);
            roundTrip(fresh, "a fresh connection after test " + rounds);
        }
        assertThat(log.awaitLine(address).outcome()).isEqualTo("ok");
    }

    // --- not TLS at all ---------------------------------------------------------------------------------------

    @Test
    void plainHttpOnTheHttpsPortGetsA400InClearTextAndNotTls() throws IOException {
        byte[] request = "GET / HTTP/1.1\r\nHost: app1.localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write(request);
            String reply = new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(reply).startsWith("HTTP/1.1 400 Bad Request\r\n").contains("Connection: close", "https://");
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("not_tls");
            assertThat(line.reason()).contains("HTTP");
            assertThat(line.level()).isEqualTo(Level.DEBUG);
        }
        // The Kafka listener has no clear-text way to answer: it closes without a word.
        try (Socket client = plain(kafkaPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write(request);
            assertThat(client.getInputStream().readAllBytes()).isEmpty();
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("not_tls");
            assertThat(line.reason()).contains("HTTP");
        }
    }

    @Test
    void sshBannerOnATlsPortIsClosedAndNotTls() throws IOException {
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write("SSH-2.0-OpenSSH_9.6p1 Debian-4\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(client.getInputStream().readAllBytes()).isEmpty();
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("not_tls");
            assertThat(line.reason()).contains("SSH");
        }
    }

    @Test
    void randomBytesOnATlsPortAreClosedAndNotTls() throws IOException {
        byte[] noise = new byte[512];
        new Random(24).nextBytes(noise);
        noise[0] = (byte) 0x8f;
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write(noise);
            assertThat(readToEnd(client)).isEmpty();
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("not_tls");
            assertThat(line.reason()).contains("0x8f");
        }
    }

    @Test
    void randomBytesBehindAHandshakeRecordTypeFailTheHandshake() throws IOException {
        byte[] noise = new byte[512];
        new Random(42).nextBytes(noise);
        noise[0] = ClientHellos.HANDSHAKE;
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write(noise);
            readToEnd(client);
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("handshake_failed");
            assertThat(line.reason()).contains("not an SSL/TLS record");
        }
    }

    // --- a ClientHello cut short, cut small, or made huge -------------------------------------------------------

    /**
     * A client that closes (FIN) in the middle of its handshake is let go at once, not held until the handshake
     * timeout with its per-client handshake slot.
     */
    @Test
    void truncatedClientHelloThenCloseIsLoggedAsClientClosedAtOnce() throws IOException {
        byte[] hello = ClientHellos.hello("app1.localhost");
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write(hello, 0, 60);
            client.shutdownOutput();
            assertThat(readToEnd(client)).isEmpty();
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("client_closed");
            // Waiting for the 1 s handshake timeout instead would log handshake_timeout.
            assertThat(line.reason()).isNotBlank();
        }
    }

    @Test
    void truncatedClientHelloThenResetIsLoggedAsClientError() throws IOException {
        byte[] hello = ClientHellos.hello("app1.localhost");
        Socket client = plain(httpsPort);
        String address = AccessLogCapture.addressOf(client);
        client.getOutputStream().write(hello, 0, 60);
        reset(client);
        AccessLogCapture.Line line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo("client_error");
        assertThat(line.reason()).contains("Connection reset by peer");
        assertThat(line.durationMs()).isLessThan(500);
    }

    @Test
    void truncatedClientHelloThenSilenceEndsInHandshakeTimeout() throws IOException {
        byte[] hello = ClientHellos.hello("app1.localhost");
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write(hello, 0, 60);
            long start = System.nanoTime();
            assertThat(readToEnd(client)).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(800), Duration.ofSeconds(5));
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("handshake_timeout");
            assertThat(line.reason()).contains("timed out");
        }
    }

    @Test
    void clientThatSendsNothingIsClosedAfterTheHandshakeTimeout() throws IOException {
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            long start = System.nanoTime();
            assertThat(readToEnd(client)).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(800), Duration.ofSeconds(5));
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("handshake_timeout");
            assertThat(line.reason()).contains("timed out");
        }
    }

    @Test
    void clientHelloInOneByteSegmentsStillRoutes() throws IOException {
        Socket slow = new OneByteSocket();
        slow.setTcpNoDelay(true);
        String address;
        try (SSLSocket client = tls(slow, httpsPort, RawServerName.of("app1.localhost"))) {
            address = AccessLogCapture.addressOf(slow);
            roundTrip(client, "arrived byte by byte");
        }
        AccessLogCapture.Line line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo("ok");
        assertThat(line.serverName()).isEqualTo("app1.localhost");
    }

    @Test
    void clientHelloSplitOverManyRecordsStillRoutes() throws IOException {
        byte[] hello = ClientHellos.records(ClientHellos.handshake(
                "app1.localhost".getBytes(StandardCharsets.US_ASCII), 0, 0), 7);
        Socket client = plain(httpsPort);
        String address = AccessLogCapture.addressOf(client);
        client.setTcpNoDelay(true);
        OutputStream out = client.getOutputStream();
        for (int i = 0; i < hello.length; i += 12) {
            out.write(hello, i, Math.min(12, hello.length - i));
            out.flush();
        }
        assertThat(client.getInputStream().read()).as("ServerHello record").isEqualTo(ClientHellos.HANDSHAKE);
        reset(client);
        assertThat(log.awaitLine(address).serverName()).isEqualTo("app1.localhost");
    }

    /**
     * BoringSSL takes a ClientHello body of at most 16 KiB (16 388 bytes with the 4-byte handshake header) when it
     * asks for no client certificate; 16 388 bytes already spans two records.
     */
    @ParameterizedTest(name = "ClientHello of {0} bytes")
    @ValueSource(ints = {4_000, 16_388})
    void clientHelloUpTo16KiBIsAnswered(int size) throws IOException {
        byte[] hello = ClientHellos.records(ClientHellos.handshakeOfSize("app1.localhost", size), ClientHellos.MAX_RECORD);
        Socket client = plain(httpsPort);
        String address = AccessLogCapture.addressOf(client);
        client.getOutputStream().write(hello);
        assertThat(client.getInputStream().read()).as("ServerHello record").isEqualTo(ClientHellos.HANDSHAKE);
        reset(client);
        assertThat(log.awaitLine(address).serverName()).isEqualTo("app1.localhost");
    }

    @ParameterizedTest(name = "ClientHello of {0} bytes")
    @ValueSource(ints = {16_389, 40_000})
    void clientHelloOver16KiBIsRefusedByTheTlsStack(int size) throws IOException {
        byte[] hello = ClientHellos.records(ClientHellos.handshakeOfSize("app1.localhost", size), ClientHellos.MAX_RECORD);
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write(hello);
            assertThat(client.getInputStream().read()).as("alert record").isEqualTo(ClientHellos.ALERT);
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("handshake_failed");
            assertThat(line.reason()).contains("EXCESSIVE_MESSAGE_SIZE");
            assertThat(line.serverName()).isEqualTo("app1.localhost");
        }
    }

    @Test
    void clientHelloOver64KiBIsCutOffBeforeItIsBuffered() throws IOException {
        byte[] hello = ClientHellos.records(ClientHellos.handshakeOfSize("app1.localhost", 70_000), ClientHellos.MAX_RECORD);
        try (Socket client = plain(httpsPort)) {
            String address = AccessLogCapture.addressOf(client);
            try {
                client.getOutputStream().write(hello);
            } catch (SocketException closedWhileWriting) {
                // the forwarder may close after the first record, before all of it is written
            }
            readToEnd(client);
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("handshake_failed");
            assertThat(line.reason()).contains("ClientHello length exceeds 65536");
        }
    }

    // --- server names -------------------------------------------------------------------------------------------

    static Stream<Arguments> refusedNames() {
        return Stream.of(
                Arguments.of("underscore", "app_1.localhost", 404, "outside_domain"),
                Arguments.of("space", "app 1.localhost", 404, "outside_domain"),
                Arguments.of("254 bytes, over the 253 of a DNS name", nameOfLength(254), 404, "outside_domain"),
                Arguments.of("255 bytes, the most RFC 6066 allows", nameOfLength(255), 404, "outside_domain"),
                Arguments.of("IPv4 literal", "127.0.0.1", 404, "outside_domain"),
                Arguments.of("IPv6 literal", "::1", 404, "outside_domain"),
                Arguments.of("IDN xn-- label without a VM", "xn--bcher-kva.localhost", 404, "unknown_vm"),
                Arguments.of("two labels under the suffix", "a.app1.localhost", 404, "outside_domain"),
                Arguments.of("another domain", "app1.example.org", 404, "outside_domain"),
                Arguments.of("the bare suffix", "localhost", 404, "outside_domain"),
                Arguments.of("no server name", null, 421, "no_sni"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("refusedNames")
    void unservedServerNameIsRefusedInHttpsAndWithAnAlertOnKafka(String description, String serverName, int status,
                                                                 String outcome) throws IOException {
        SNIServerName name = serverName == null ? null : RawServerName.of(serverName);
        String address;
        String reply;
        try (SSLSocket client = tls(httpsPort, name)) {
            address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            reply = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(reply).startsWith("HTTP/1.1 " + status + " ");
        AccessLogCapture.Line line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo(outcome);
        assertThat(line.reason()).isNotBlank();
        assertThat(reply).endsWith("\r\n\r\n" + line.reason() + "\n");

        try (SSLSocket client = tls(kafkaPort, name)) {
            address = AccessLogCapture.addressOf(client);
            assertThatThrownBy(client::startHandshake).isInstanceOf(SSLException.class)
                    .hasMessageContaining("unrecognized_name");
        }
        line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo(outcome);
        assertThat(line.reason()).isNotBlank();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"APP1.LOCALHOST", "App1.LocalHost", "app1.localhost."})
    void serverNameInOtherCaseOrWithATrailingDotRoutes(String serverName) throws IOException {
        String address;
        try (SSLSocket client = tls(httpsPort, RawServerName.of(serverName))) {
            address = AccessLogCapture.addressOf(client);
            roundTrip(client, "routed as " + serverName);
        }
        assertThat(log.awaitLine(address).outcome()).isEqualTo("ok");
    }

    /**
     * A host_name over 255 bytes breaks RFC 6066. The Kafka listener refuses it as outside the domain before the
     * handshake; on HTTPS, BoringSSL refuses it during the handshake with {@code unrecognized_name}, before the
     * forwarder could answer 404 (its log reason then is OpenSSL's unhelpful "invalid library (0)").
     */
    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {256, 1000})
    void serverNameOver255BytesFailsTheHandshake(int length) throws IOException {
        String serverName = nameOfLength(length);
        String address;
        try (SSLSocket client = tls(httpsPort, RawServerName.of(serverName))) {
            address = AccessLogCapture.addressOf(client);
            assertThatThrownBy(client::startHandshake).isInstanceOf(SSLException.class)
                    .hasMessageContaining("unrecognized_name");
        }
        AccessLogCapture.Line line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo("handshake_failed");
        assertThat(line.serverName()).isEqualTo(serverName);

        try (SSLSocket client = tls(kafkaPort, RawServerName.of(serverName))) {
            address = AccessLogCapture.addressOf(client);
            assertThatThrownBy(client::startHandshake).isInstanceOf(SSLException.class)
                    .hasMessageContaining("unrecognized_name");
        }
        line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo("outside_domain");
    }

    /**
     * A server name is attacker-chosen text that the connection log repeats. With a line feed and quotes in it, the
     * console format ({@code %kvp}) must still write one line, or the client can forge log lines.
     *
     * <p>Netty passes the SNI bytes through, BoringSSL accepts any byte but NUL, and Logback's {@code %kvp} writes
     * values as they are, so the connection log escapes what a client controls.
     */
    @Test
    void serverNameWithALineFeedCannotForgeAConsoleLogLine() throws IOException {
        String forged = "app1.localhost\" outcome=\"ok\"\n2026-01-01T00:00:00.000Z INFO  mergen.access"
                + " connection closed serverName=\"app1.localhost";
        String address;
        try (SSLSocket client = tls(httpsPort, RawServerName.of(forged))) {
            address = AccessLogCapture.addressOf(client);
            client.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .startsWith("HTTP/1.1 404 ");
        }
        AccessLogCapture.Line line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo("outside_domain");
        assertThat(line.consoleText()).as("the console line").doesNotContain("\n").doesNotContain("\r");
    }

    // --- after the handshake ------------------------------------------------------------------------------------

    @Test
    void relayedConnectionWithNoTrafficIsClosedAfterTheIdleTimeout() throws Exception {
        int idlePort = TestPorts.free();
        Forwarder idle = startForwarder(Map.of("FWD_LISTENERS", "127.0.0.1:" + idlePort + "=443",
                "FWD_IDLE_TIMEOUT_SECONDS", "1"));
        try (SSLSocket client = tls(idlePort, RawServerName.of("app1.localhost"))) {
            String address = AccessLogCapture.addressOf(client);
            int guestConnections = guest.openConnections();
            roundTrip(client, "then silence");
            assertThat(guest.openConnections()).isEqualTo(guestConnections + 1);
            long start = System.nanoTime();
            assertThat(readToEnd(client)).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(800), Duration.ofSeconds(5));
            AccessLogCapture.Line line = log.awaitLine(address);
            assertThat(line.outcome()).isEqualTo("idle_timeout");
            assertThat(line.reason()).contains("idle");
            // The guest's side is closed too, not left open behind the client.
            await().atMost(Duration.ofSeconds(5)).until(() -> guest.openConnections() == guestConnections);
        } finally {
            idle.shutdown(Duration.ZERO);
        }
    }

    /**
     * BoringSSL refuses every renegotiation as a server; the client sees the alert, other connections nothing.
     *
     * <p>SslHandler closes the channel before it fires the exception, so the connection log line is written in a
     * later task, once the relay has recorded {@code client_error}.
     */
    @Test
    void tls12RenegotiationIsRefusedWithoutHarmingTheRelayBeforeIt() throws IOException {
        String address;
        try (SSLSocket client = tls(httpsPort, RawServerName.of("app1.localhost"), "TLSv1.2")) {
            address = AccessLogCapture.addressOf(client);
            roundTrip(client, "before renegotiating");
            assertThat(client.getSession().getProtocol()).isEqualTo("TLSv1.2");
            // The JDK sends the new ClientHello here; the answer shows on the next read or write.
            client.startHandshake();
            assertThatThrownBy(() -> roundTrip(client, "after renegotiating"))
                    .isInstanceOf(SSLHandshakeException.class)
                    .hasMessageContaining("Received fatal alert: no_renegotiation");
        }
        AccessLogCapture.Line line = log.awaitLine(address);
        assertThat(line.outcome()).isEqualTo("client_error");
        assertThat(line.reason()).contains("NO_RENEGOTIATION");
    }

    // --- floods -------------------------------------------------------------------------------------------------

    /**
     * From 127.0.0.2, so that the test's other connections (from 127.0.0.1) neither count toward this address's
     * limit nor are refused by it: a flood from one address only costs that address.
     */
    @Test
    void handshakeFloodFromOneAddressIsCutAtTheLimitAndTheAddressRecovers() throws Exception {
        int extra = 3;
        List<Socket> flood = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_HANDSHAKES + extra; i++) {
                Socket socket = new Socket();
                socket.bind(new InetSocketAddress("127.0.0.2", 0));
                socket.connect(new InetSocketAddress("127.0.0.1", httpsPort), 5_000);
                flood.add(socket);
                addresses.add(AccessLogCapture.addressOf(socket));
            }
            // Another address is served while the flood holds its slots.
            String bystander;
            try (SSLSocket client = tls(httpsPort, RawServerName.of("app1.localhost"))) {
                bystander = AccessLogCapture.addressOf(client);
                roundTrip(client, "served during the flood");
            }
            assertThat(log.awaitLine(bystander).outcome()).isEqualTo("ok");

            List<AccessLogCapture.Line> lines = addresses.stream().map(log::awaitLine).toList();
            List<AccessLogCapture.Line> refused = lines.stream()
                    .filter(line -> line.outcome().equals("too_many_handshakes")).toList();
            assertThat(refused).hasSize(extra).allSatisfy(line -> {
                assertThat(line.reason()).contains("FWD_MAX_HANDSHAKES_PER_CLIENT");
                assertThat(line.durationMs()).isLessThan(500);
            });
            assertThat(lines).filteredOn(line -> line.outcome().equals("handshake_timeout")).hasSize(MAX_HANDSHAKES);
        } finally {
            for (Socket socket : flood) {
                socket.close();
            }
        }
        Socket recovered = new Socket();
        recovered.bind(new InetSocketAddress("127.0.0.2", 0));
        String address = AccessLogCapture.addressOf(recovered);
        try (SSLSocket client = tls(recovered, httpsPort, RawServerName.of("app1.localhost"))) {
            roundTrip(client, "the flooding address is served again");
        }
        assertThat(log.awaitLine(address).outcome()).isEqualTo("ok");
    }

    // --- helpers ------------------------------------------------------------------------------------------------

    /** A name of exactly {@code length} bytes under localhost, in labels of at most 63 letters. */
    private static String nameOfLength(int length) {
        String name = "localhost";
        while (name.length() < length) {
            int label = Math.max(1, Math.min(63, length - name.length() - 1));
            name = "x".repeat(label) + "." + name;
        }
        return name;
    }

    private static Socket plain(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** Closes with a TCP reset (SO_LINGER 0), which the forwarder notices at once, unlike a FIN mid-handshake. */
    private static void reset(Socket socket) throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    /** Reads until the forwarder closes; a reset counts as closed. */
    private static byte[] readToEnd(Socket socket) throws IOException {
        socket.setSoTimeout(10_000);
        InputStream in = socket.getInputStream();
        try {
            return in.readAllBytes();
        } catch (SSLException | SocketException closed) {
            return new byte[0];
        }
    }

    private static SSLSocket tls(int port, SNIServerName name, String... protocols) throws IOException {
        return tls(new Socket(), port, name, protocols);
    }

    /** A TLS client over {@code plain} that sends exactly {@code name} as SNI (none when null). */
    private static SSLSocket tls(Socket plain, int port, SNIServerName name, String... protocols) throws IOException {
        plain.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        SSLSocket socket = (SSLSocket) TestCertificates.trustingClient(certs.caFile()).getSocketFactory()
                .createSocket(plain, "127.0.0.1", port, true);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setServerNames(name == null ? List.of() : List.of(name));
        if (protocols.length > 0) {
            parameters.setProtocols(protocols);
        }
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** Sends {@code text} through the relay to the echo guest and expects it back unchanged. */
    private static void roundTrip(Socket socket, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        byte[] echoed = socket.getInputStream().readNBytes(bytes.length);
        assertThat(new String(echoed, StandardCharsets.UTF_8)).isEqualTo(text);
    }

    /**
     * An SNI host_name of any bytes: the JDK's own {@code SNIHostName} refuses underscores, spaces, a trailing dot
     * and IP literals, which is exactly what these tests need to send.
     */
    static final class RawServerName extends SNIServerName {
        private RawServerName(byte[] encoded) {
            super(0, encoded); // RFC 6066 section 3: NameType host_name
        }

        static RawServerName of(String name) {
            return new RawServerName(name.getBytes(StandardCharsets.ISO_8859_1));
        }

        @Override
        public String toString() {
            return Arrays.toString(getEncoded());
        }
    }

    /** A socket whose every byte leaves in its own write and, with TCP_NODELAY, in its own segment. */
    private static final class OneByteSocket extends Socket {
        @Override
        public OutputStream getOutputStream() throws IOException {
            OutputStream out = super.getOutputStream();
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    out.write(b);
                    out.flush();
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    for (int i = off; i < off + len; i++) {
                        write(b[i]);
                    }
                }
            };
        }
    }
}

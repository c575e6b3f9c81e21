package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.tls.TestCertificates;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Promise;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The TLS listeners' client-facing behaviour on loopback, without namespaces (so it runs without root):
 * HTTP errors on the HTTPS listener, the handshake timeout, and early client bytes reaching the guest.
 */
class TlsListenerTest {
    @TempDir
    Path work;

    private ServerSocket guest;
    private Forwarder forwarder;
    private TestCertificates.Issued certs;
    private int httpsPort;
    /** How long every dial waits before it connects: the time a client's early bytes must be held. */
    private volatile long dialDelayMillis;

    @BeforeEach
    void start() throws Exception {
        guest = new ServerSocket();
        guest.bind(new InetSocketAddress("127.0.0.1", 0));
        Path vm = Files.createDirectories(work.resolve("vm.d/vm-1"));
        Files.writeString(vm.resolve("meta.json"), """
                {"id": "0badc0de-0000-4000-8000-000000000001", "guestIP": "127.0.0.1", "netns": "host",
                 "tags": {"app": "app1"}, "httpPort": %d}
                """.formatted(guest.getLocalPort()));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")), "*.localhost", "app1.localhost",
                "app9.localhost");
        httpsPort = TestPorts.free();
        ForwarderConfig config = ForwarderConfig.fromEnvironment(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + httpsPort + "=443",
                "FWD_CONFIG_ROOT", work.resolve("vm.d").toString(),
                "FWD_TLS_CERT_FILE", certs.certFile().toString(),
                "FWD_TLS_KEY_FILE", certs.keyFile().toString(),
                "FWD_HANDSHAKE_TIMEOUT_SECONDS", "1",
                "FWD_ADMIN_ADDR", ""));
        forwarder = Main.assemble(config, (roots, transport) -> {
            LoopbackDialer loopback = new LoopbackDialer(transport);
            return (loop, netns, target, timeout, handler) -> {
                Promise<Channel> dialed = loop.newPromise();
                loop.schedule(() -> loopback.dial(loop, netns, target, timeout, handler).addListener(f -> {
                    if (f.isSuccess()) {
                        dialed.setSuccess((Channel) f.getNow());
                    } else {
                        dialed.setFailure(f.cause());
                    }
                }), dialDelayMillis, TimeUnit.MILLISECONDS);
                return dialed;
            };
        });
        forwarder.start();
    }

    @AfterEach
    void stop() throws Exception {
        forwarder.shutdown(Duration.ZERO);
        guest.close();
    }

    @Test
    void requestSentWithTheHandshakeReachesTheGuestAndTheAnswerComesBack() throws Exception {
        CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
            try (Socket conn = guest.accept()) {
                byte[] request = new byte[5];
                new DataInputStream(conn.getInputStream()).readFully(request);
                conn.getOutputStream().write("pong!".getBytes(StandardCharsets.US_ASCII));
                return new String(request, StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try (SSLSocket socket = tlsClient("app1.localhost")) {
            socket.getOutputStream().write("ping!".getBytes(StandardCharsets.US_ASCII));
            byte[] answer = socket.getInputStream().readNBytes(5);
            assertThat(new String(answer, StandardCharsets.US_ASCII)).isEqualTo("pong!");
        }
        assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo("ping!");
    }

    @Test
    void bytesBeyondTheBufferSentDuringASlowDialAllReachTheGuestInOrder() throws Exception {
        // 4 MiB against the default 64 KiB buffer: the connector holds what it read, pauses reads at the buffer
        // size, and the rest waits in the kernel until the relay takes over.
        dialDelayMillis = 500;
        byte[] sent = new byte[4 << 20];
        new Random(7).nextBytes(sent);
        CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
            try (Socket conn = guest.accept()) {
                return conn.getInputStream().readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try (SSLSocket socket = tlsClient("app1.localhost")) {
            socket.getOutputStream().write(sent);
            socket.shutdownOutput();
            assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(sent);
        }
    }

    @Test
    void unknownLabelGetsA404InPlainText() throws Exception {
        try (SSLSocket socket = tlsClient("app9.localhost")) {
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: app9.localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(response).startsWith("HTTP/1.1 404 Not Found\r\n")
                    .contains("Content-Type: text/plain", "Connection: close")
                    .endsWith("\r\n\r\nno VM named app9 on this host\n");
        }
    }

    @Test
    void guestThatRefusesGetsA502() throws Exception {
        guest.close(); // nothing listens on the guest port any more
        try (SSLSocket socket = tlsClient("app1.localhost")) {
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(response).startsWith("HTTP/1.1 502 Bad Gateway\r\n").contains("VM app1 is not reachable");
        }
    }

    @Test
    void clientThatNeverSendsAClientHelloIsClosedAfterTheHandshakeTimeout() throws Exception {
        try (Socket idle = new Socket("127.0.0.1", httpsPort)) {
            idle.setSoTimeout(10_000);
            // The 1 s handshake timeout closes us long before this read's 10 s timeout would throw.
            assertThat(idle.getInputStream().read()).isEqualTo(-1);
        }
    }

    private SSLSocket tlsClient(String serverName) throws IOException {
        SSLSocket socket = (SSLSocket) TestCertificates.trustingClient(certs.caFile()).getSocketFactory()
                .createSocket("127.0.0.1", httpsPort);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(serverName)));
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(10_000);
        return socket;
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.config.ForwarderConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The relay's contract, through a real forwarder on loopback (raw listener, namespace step replaced by a
 * plain dial): half-close passes through as half-close, a slow reader bounds what the forwarder buffers.
 */
class RelayBehaviourTest {
    @TempDir
    Path work;

    private ServerSocket guest;
    private Forwarder forwarder;
    private InetSocketAddress front;

    @BeforeEach
    void startGuestAndForwarder() throws Exception {
        guest = new ServerSocket();
        guest.bind(new InetSocketAddress("127.0.0.1", 0));
        int guestPort = guest.getLocalPort();
        Path vms = Files.createDirectories(work.resolve("vm.d/vm-1"));
        Files.writeString(vms.resolve("meta.json"), """
                {"id": "vm-1-loopback", "guestIP": "127.0.0.1", "netns": "host"}
                """);
        ForwarderConfig config = ForwarderConfig.fromEnvironment(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + TestPorts.free() + "=" + guestPort + "/raw",
                "FWD_ALLOWED_GUEST_PORTS", String.valueOf(guestPort),
                "FWD_CONFIG_ROOT", work.resolve("vm.d").toString(),
                "FWD_ADMIN_ADDR", "",
                "FWD_LOG_LEVEL", "info"));
        forwarder = Main.assemble(config, (roots, transport) -> new LoopbackDialer(transport));
        forwarder.start();
        front = forwarder.boundAddresses().getFirst();
    }

    @AfterEach
    void stop() throws Exception {
        if (forwarder != null) {
            forwarder.shutdown(Duration.ZERO);
        }
        guest.close();
    }

    @Test
    void clientHalfCloseReachesGuestAsEndOfStreamAndTheAnswerStillComesBack() throws Exception {
        CompletableFuture<Void> served = serveOnce(conn -> {
            long received = conn.getInputStream().transferTo(OutputStream.nullOutputStream());
            conn.getOutputStream().write(("received " + received).getBytes(StandardCharsets.US_ASCII));
        });
        try (Socket client = new Socket()) {
            client.connect(front);
            client.getOutputStream().write(new byte[1 << 20]);
            client.shutdownOutput();
            String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(answer).isEqualTo("received " + (1 << 20));
        }
        served.get(10, TimeUnit.SECONDS);
    }

    @Test
    void guestHalfCloseReachesClientWhoCanStillSend() throws Exception {
        CompletableFuture<String> lastWords = new CompletableFuture<>();
        CompletableFuture<Void> served = serveOnce(conn -> {
            conn.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            conn.shutdownOutput();
            lastWords.complete(new String(conn.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        });
        try (Socket client = new Socket()) {
            client.connect(front);
            InputStream in = client.getInputStream();
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("hello");
            client.getOutputStream().write("bye".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            assertThat(lastWords.get(10, TimeUnit.SECONDS)).isEqualTo("bye");
        }
        served.get(10, TimeUnit.SECONDS);
    }

    @Test
    void slowClientPausesTheGuestInsteadOfFillingTheForwardersMemory() throws Exception {
        long total = 256L << 20;
        AtomicLong written = new AtomicLong();
        AtomicLong lastWriteNanos = new AtomicLong(System.nanoTime());
        CompletableFuture<Void> served = serveOnce(conn -> {
            byte[] chunk = new byte[64 * 1024];
            OutputStream out = conn.getOutputStream();
            while (written.get() < total) {
                out.write(chunk);
                written.addAndGet(chunk.length);
                lastWriteNanos.set(System.nanoTime());
            }
            conn.shutdownOutput();
        });
        try (Socket client = new Socket()) {
            client.setReceiveBufferSize(64 * 1024);
            client.connect(front);
            // Not reading: the guest's writes must stall once the socket buffers and the forwarder's
            // per-connection bound are full, far below what it wants to send.
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                    .until(() -> written.get() > 0
                            && System.nanoTime() - lastWriteNanos.get() > TimeUnit.MILLISECONDS.toNanos(500));
            assertThat(written.get()).isLessThan(48L << 20);

            long read = client.getInputStream().transferTo(OutputStream.nullOutputStream());
            assertThat(read).isEqualTo(total);
        }
        served.get(30, TimeUnit.SECONDS);
    }

    @Test
    void guestResetClosesTheClient() throws Exception {
        CompletableFuture<Void> served = serveOnce(conn -> {
            conn.getInputStream().read();
            conn.setSoLinger(true, 0); // close with RST
            conn.close();
        });
        try (Socket client = new Socket()) {
            client.connect(front);
            client.getOutputStream().write('x');
            client.setSoTimeout(10_000);
            int next;
            try {
                next = client.getInputStream().read();
            } catch (IOException reset) {
                next = -1;
            }
            assertThat(next).isEqualTo(-1);
        }
        served.get(10, TimeUnit.SECONDS);
    }

    interface Conversation {
        void run(Socket connection) throws Exception;
    }

    private CompletableFuture<Void> serveOnce(Conversation conversation) {
        return CompletableFuture.runAsync(() -> {
            try (Socket conn = guest.accept()) {
                conversation.run(conn);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, command -> Thread.ofPlatform().daemon().start(command));
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.netns.Transport;
import io.mergen.forwarder.tls.TestCertificates;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Thousands of idle TLS connections held open through the forwarder to a real nginx guest, then every one of
 * them completes a request: nothing is dropped while idle and nothing is lost when they all wake at once. The
 * client is Netty on one event loop, not a thread per connection.
 *
 * <p>CI holds 1,000 connections for 5 s; the full test 5,000 for 30 s:
 * {@code ./run-tests -Dtest='*SoakTest' -Dsoak.full=true}. Each connection costs this JVM three descriptors
 * (client, the forwarder's accepted socket, its socket to the guest) and the JVM cannot raise its own
 * {@code ulimit -n} (20,000 here), so the count is lowered, and says so, when the limit is smaller.
 */
@Tag("e2e")
class IdleConnectionsSoakTest {
    private static final String GUEST_IP = "10.213.23.2";
    private static final String GUEST_RANGE = "10.213.23.0/24";
    private static final int WANTED = Soak.size(1_000, 5_000);
    private static final Duration HOLD = Soak.duration(Duration.ofSeconds(5), Duration.ofSeconds(30));
    private static final int DESCRIPTORS_PER_CONNECTION = 3;
    /** Descriptors left for everything else in the JVM: jars, epoll, the guest's log, the surefire channel. */
    private static final int SPARE_DESCRIPTORS = 512;
    private static final int HANDSHAKES_AT_ONCE = 64;

    @TempDir
    static Path work;

    private static UnreachableRange route;
    private static GuestVm vm;
    private static Forwarder forwarder;
    private static EventLoopGroup clientLoop;
    private static SslContext clientTls;
    private static Transport transport;
    private static int port;

    @BeforeAll
    static void startGuestAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        vm = GuestVm.create(work, "app1", GUEST_IP);
        startNginx(vm, WANTED + 1_000);
        vm.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");
        TestCertificates.Issued certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "app1.localhost");
        port = TestPorts.free();
        forwarder = SoakForwarders.inNamespaces(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=443"));
        transport = Transport.detect();
        clientLoop = transport.newEventLoopGroup(1, "soak-client");
        clientTls = SslContextBuilder.forClient().trustManager(certs.caFile().toFile()).build();
        // nginx starts in the background: wait until a request goes all the way through.
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
            Client probe = connect().get(10, TimeUnit.SECONDS);
            probe.request();
            return probe.response().get(10, TimeUnit.SECONDS).startsWith("HTTP/1.1 200 ");
        });
    }

    /** nginx sized for many connections: worker_connections and its descriptor limit above the wanted count. */
    private static void startNginx(GuestVm vm, int connections) throws IOException {
        Path conf = vm.dir().resolve("nginx-many.conf");
        Files.writeString(conf, """
                user root;
                worker_processes 1;
                worker_rlimit_nofile %1$d;
                pid %2$s/nginx.pid;
                error_log %2$s/error.log;
                events { worker_connections %1$d; }
                http {
                  access_log off;
                  client_header_timeout 600s;
                  keepalive_timeout 600s;
                  client_body_temp_path %2$s;
                  server {
                    listen %3$s:443 backlog=8192;
                    location = /whoami { default_type text/plain; return 200 "%4$s\\n"; }
                  }
                }
                """.formatted(connections, vm.dir(), vm.guestIp(), vm.name()));
        vm.spawn("nginx.log", "nginx", "-g", "daemon off;", "-c", conf.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (clientLoop != null) {
            clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
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
    void idleConnectionsAreHeldAndThenAllCompleteARequest() throws Exception {
        long limit = openFilesLimit();
        int socketsBefore = ProcessResources.fds().of("socket");
        int room = (int) ((limit - ProcessResources.fds().total() - SPARE_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION);
        int count = Math.min(WANTED, room);
        if (count < WANTED) {
            System.out.printf(Locale.ROOT, "soak: ulimit -n is %d, room for %d connections, not %d%n", limit, count, WANTED);
        }
        assertThat(count).as("connections that fit in ulimit -n %d", limit).isGreaterThanOrEqualTo(Math.min(WANTED, 500));

        List<Client> clients = new ArrayList<>(count);
        try (QuietLogs quiet = QuietLogs.start()) {
            Semaphore handshaking = new Semaphore(HANDSHAKES_AT_ONCE);
            List<CompletableFuture<Client>> connecting = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                handshaking.acquire();
                CompletableFuture<Client> client = connect();
                client.whenComplete((c, e) -> handshaking.release());
                connecting.add(client);
            }
            for (CompletableFuture<Client> client : connecting) {
                clients.add(client.get(60, TimeUnit.SECONDS));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.activeConnections() == count);
            NettyBuffers held = NettyBuffers.now();

            // Idle: every connection must stay open for the whole hold.
            await().pollInterval(Duration.ofMillis(500)).during(HOLD).atMost(HOLD.plusSeconds(10))
                    .until(() -> clients.stream().allMatch(c -> c.channel.isActive())
                            && forwarder.activeConnections() == count);

            clients.forEach(Client::request);
            AtomicInteger answered = new AtomicInteger();
            List<String> wrong = new ArrayList<>();
            for (Client client : clients) {
                String response = client.response().get(120, TimeUnit.SECONDS);
                if (response.startsWith("HTTP/1.1 200 ") && response.endsWith("\r\n\r\n" + vm.name() + "\n")) {
                    answered.incrementAndGet();
                } else if (wrong.size() < 5) {
                    wrong.add(response);
                }
            }
            System.out.printf(Locale.ROOT, "soak[%s] %d idle TLS connections held %ds (ulimit -n %d), %d answered; "
                            + "forwarder buffers while holding them: %s%n",
                    Soak.mode(), count, HOLD.toSeconds(), limit, answered.get(), held);
            assertThat(wrong).as("wrong answers (first 5)").isEmpty();
            assertThat(answered.get()).isEqualTo(count);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.activeConnections() == 0);
        await().atMost(Duration.ofSeconds(30)).pollInSameThread()
                .untilAsserted(() -> assertThat(ProcessResources.fds().of("socket")).as("open sockets")
                        .isLessThanOrEqualTo(socketsBefore));
    }

    /** The soft RLIMIT_NOFILE of this JVM, from /proc/self/limits. */
    private static long openFilesLimit() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/limits")).stream()
                .filter(line -> line.startsWith("Max open files"))
                .map(line -> line.substring("Max open files".length()).strip().split("\\s+")[0])
                .mapToLong(Long::parseLong).findFirst().orElseThrow();
    }

    /** Connects and completes the TLS handshake; the client then sits idle until {@link Client#request}. */
    private static CompletableFuture<Client> connect() {
        Client client = new Client();
        new Bootstrap().group(clientLoop)
                .channelFactory(transport::newSocketChannel)
                // Its own allocator, so the default allocator's numbers are the forwarder's alone.
                .option(ChannelOption.ALLOCATOR, UnpooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SslHandler tls = clientTls.newHandler(ch.alloc(), "app1.localhost", 443);
                        tls.setHandshakeTimeoutMillis(30_000);
                        ch.pipeline().addLast(tls, client);
                    }
                })
                .connect("127.0.0.1", port)
                .addListener((ChannelFuture f) -> {
                    if (!f.isSuccess()) {
                        client.handshake.completeExceptionally(f.cause());
                    }
                });
        return client.handshake;
    }

    /** One connection: completes {@code handshake} when TLS is up, {@code response} with all bytes at the close. */
    private static final class Client extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Client> handshake = new CompletableFuture<>();
        private final CompletableFuture<String> response = new CompletableFuture<>();
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private Channel channel;

        void request() {
            ByteBuf request = Unpooled.copiedBuffer(
                    "GET /whoami HTTP/1.1\r\nHost: app1.localhost\r\nConnection: close\r\n\r\n", StandardCharsets.US_ASCII);
            channel.writeAndFlush(request);
        }

        CompletableFuture<String> response() {
            return response;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            ctx.fireChannelActive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                if (done.isSuccess()) {
                    handshake.complete(this);
                } else {
                    handshake.completeExceptionally(done.cause());
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                buf.readBytes(received, buf.readableBytes());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } finally {
                buf.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            handshake.completeExceptionally(new IOException("closed before the handshake completed"));
            response.complete(received.toString(StandardCharsets.ISO_8859_1));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            handshake.completeExceptionally(cause);
            response.completeExceptionally(cause);
            ctx.close();
        }
    }
}

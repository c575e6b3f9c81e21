package io.mergen.forwarder.netns;

import static io.mergen.forwarder.netns.TestNamespace.currentThreadNetnsInode;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;

@Tag("root")
class LinuxNamespaceDialerTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private static UnreachableRoute route;
    private static TestNamespace ns;
    private static GreetingServer server;
    private static NetworkNamespaces namespaces;
    private static EventLoopGroup group;
    private static EventLoop loop;
    private static NamespaceDialer dialer;
    private static long hostInode;

    @BeforeAll
    static void start() throws Exception {
        TestNamespace.assumeRoot();
        hostInode = currentThreadNetnsInode();
        route = UnreachableRoute.add("10.213.3.0/24");
        ns = TestNamespace.create("mfwd-t3", "10.213.3.2/32");
        server = GreetingServer.start(ns.listen(0, 1024), "hello\n");
        namespaces = new NetworkNamespaces(LinuxSyscalls.load(), List.of(TestNamespace.NETNS_ROOT));
        Transport transport = Transport.detect();
        group = transport.newEventLoopGroup(1, "dial-test");
        loop = group.next();
        dialer = new LinuxNamespaceDialer(namespaces, transport);
    }

    @AfterAll
    static void stop() throws Exception {
        List<AutoCloseable> resources = new ArrayList<>();
        if (group != null) {
            resources.add(() -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync());
        }
        resources.addAll(Stream.of(namespaces, server, ns, route).filter(r -> r != null).toList());
        Exception failure = null;
        for (AutoCloseable resource : resources) {
            try {
                resource.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Collects what the channel reads; reads happen only when the test asks (AUTO_READ is off). */
    static final class Received extends ChannelInboundHandlerAdapter {
        final StringBuffer text = new StringBuffer();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                text.append(buf.toString(UTF_8));
            } finally {
                buf.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // e.g. the reset when a test's listener closes; the test checks what it needs itself
        }
    }

    private static <T> Future<T> awaitDone(Future<T> future) {
        // The future's own wait, not Awaitility: its 100 ms poll would make the 1000-dial test take minutes.
        assertThat(future.awaitUninterruptibly(10, TimeUnit.SECONDS)).as("done within 10 s").isTrue();
        return future;
    }

    private static InetSocketAddress guest(int port) {
        return new InetSocketAddress(ns.guestAddress(), port);
    }

    private static String failureMessage(Future<?> future) {
        assertThat(future.cause()).isInstanceOf(DialException.class);
        return future.cause().getMessage();
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void dialsInsideTheNamespaceAndBytesFlow(String transportName) throws Exception {
        Transport transport = transportName.equals("epoll") ? Transport.epoll() : Transport.nio();
        EventLoopGroup transportGroup = transport.newEventLoopGroup(1, "dial-" + transportName);
        try {
            EventLoop transportLoop = transportGroup.next();
            Received received = new Received();
            AtomicBoolean completedOnLoop = new AtomicBoolean();

            Future<Channel> dialed = new LinuxNamespaceDialer(namespaces, transport)
                    .dial(transportLoop, ns.name(), server.address(), TIMEOUT, received)
                    .addListener(f -> completedOnLoop.set(transportLoop.inEventLoop()));
            Channel channel = awaitDone(dialed).getNow();

            assertThat(dialed.cause()).isNull();
            await().untilTrue(completedOnLoop);
            assertThat(channel.isActive()).isTrue();
            assertThat(channel.eventLoop()).isSameAs(transportLoop);
            assertThat(channel.config().isAutoRead()).isFalse();
            assertThat(channel.config().getOption(ChannelOption.ALLOW_HALF_CLOSURE)).isTrue();
            assertThat(channel.pipeline().get(Received.class)).isSameAs(received);
            // The source address is the guest's own: the socket lives in the namespace.
            assertThat(((InetSocketAddress) channel.localAddress()).getAddress()).isEqualTo(ns.guestAddress());

            await().untilAsserted(() -> {
                channel.read();
                assertThat(received.text.toString()).isEqualTo("hello\n");
            });
            channel.writeAndFlush(Unpooled.copiedBuffer("ping\n", UTF_8)).sync();
            await().untilAsserted(() -> {
                channel.read();
                assertThat(received.text.toString()).isEqualTo("hello\nping\n");
            });
            channel.close().sync();
        } finally {
            transportGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void theSameTargetFromTheHostNamespaceIsUnreachable() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(server.address(), 5_000);
            }
        }).isInstanceOf(NoRouteToHostException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void theDialingThreadStaysInTheHostNamespace() throws Exception {
        Future<Channel> fromTestThread = dialer.dial(loop, ns.name(), server.address(), TIMEOUT, new Received());
        assertThat(currentThreadNetnsInode()).isEqualTo(hostInode);

        Future<Channel> fromLoop = loop.submit(
                () -> dialer.dial(loop, ns.name(), server.address(), TIMEOUT, new Received())).get();
        long loopInode = loop.submit(TestNamespace::currentThreadNetnsInode).get();

        assertThat(loopInode).isEqualTo(hostInode);
        for (Future<Channel> dialed : List.of(fromTestThread, fromLoop)) {
            assertThat(awaitDone(dialed).cause()).isNull();
            dialed.getNow().close().sync();
        }
    }

    @Test
    void aMissingNamespaceIsNamed() {
        String missing = ns.name() + "-absent";

        Future<Channel> dialed = awaitDone(dialer.dial(loop, missing, server.address(), TIMEOUT, new Received()));

        assertThat(failureMessage(dialed)).isEqualTo("connect to 10.213.3.2:" + server.address().getPort()
                + " in netns " + missing + ": netns " + missing + " not found in /run/netns");
    }

    @Test
    void connectionRefusedFailsFast() {
        int port = ns.freePort();
        long start = System.nanoTime();

        Future<Channel> dialed = awaitDone(dialer.dial(loop, ns.name(), guest(port), TIMEOUT, new Received()));

        assertThat(failureMessage(dialed))
                .isEqualTo("connect to 10.213.3.2:" + port + " in netns " + ns.name() + ": connection refused");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void anAddressWithoutRouteInTheNamespaceFailsFast() {
        Future<Channel> dialed = awaitDone(
                dialer.dial(loop, ns.name(), new InetSocketAddress("10.213.3.98", 80), TIMEOUT, new Received()));

        assertThat(failureMessage(dialed))
                .isEqualTo("connect to 10.213.3.98:80 in netns " + ns.name() + ": no route to host");
    }

    @Test
    void aListenerThatDropsSynsTimesOut() throws IOException {
        // Backlog 1 and no accept(): once two handshakes fill the accept queue, the kernel drops further SYNs, so
        // the next connect hangs until our timeout (no iptables needed).
        Duration timeout = Duration.ofMillis(300);
        List<Channel> filling = new ArrayList<>();
        try (ServerSocketChannel full = ns.listen(0, 1)) {
            InetSocketAddress target = (InetSocketAddress) full.getLocalAddress();
            String timedOut = null;
            for (int attempt = 0; attempt < 6 && timedOut == null; attempt++) {
                Future<Channel> dialed = awaitDone(dialer.dial(loop, ns.name(), target, timeout, new Received()));
                if (dialed.isSuccess()) {
                    filling.add(dialed.getNow());
                } else {
                    timedOut = failureMessage(dialed);
                }
            }
            assertThat(timedOut).isEqualTo("connect to 10.213.3.2:" + target.getPort() + " in netns " + ns.name()
                    + ": timed out after 300 ms");
            assertThat(filling).hasSizeLessThanOrEqualTo(2);
        } finally {
            filling.forEach(Channel::close);
        }
    }

    @Test
    void aVirtualThreadIsRefused() throws InterruptedException {
        AtomicReference<Future<Channel>> dialed = new AtomicReference<>();
        Thread.ofVirtual().start(() -> dialed.set(
                dialer.dial(loop, ns.name(), server.address(), TIMEOUT, new Received()))).join();

        assertThat(failureMessage(awaitDone(dialed.get()))).isEqualTo("connect to 10.213.3.2:"
                + server.address().getPort() + " in netns " + ns.name()
                + ": netns " + ns.name() + ": cannot switch namespaces on a virtual thread"
                + " (a namespace belongs to an OS thread)");
    }

    @Test
    void thousandDialsLeaveNoFileDescriptorsBehind() throws Exception {
        dialAndClose(10); // warm up: class loading and buffers may open files once
        long before = openFds();

        dialAndClose(1000);
        int refused = ns.freePort();
        for (int i = 0; i < 100; i++) {
            assertThat(awaitDone(dialer.dial(loop, ns.name(), guest(refused), TIMEOUT, new Received())).cause())
                    .isInstanceOf(DialException.class);
        }

        // The server's accepted sockets live in this JVM too; they close once they see the client's FIN.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(openFds()).isLessThanOrEqualTo(before));
    }

    private static void dialAndClose(int times) throws InterruptedException {
        for (int i = 0; i < times; i++) {
            Future<Channel> dialed = awaitDone(
                    dialer.dial(loop, ns.name(), server.address(), TIMEOUT, new Received()));
            assertThat(dialed.cause()).isNull();
            dialed.getNow().close().sync();
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}

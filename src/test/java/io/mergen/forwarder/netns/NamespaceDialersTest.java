package io.mergen.forwarder.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;

class NamespaceDialersTest {
    private static final List<Path> ROOTS = List.of(Path.of("/run/netns"));

    private static EventLoopGroup group;
    private static EventLoop loop;

    @BeforeAll
    static void startLoop() {
        group = Transport.nio().newEventLoopGroup(1, "dialers-test");
        loop = group.next();
    }

    @AfterAll
    static void stopLoop() throws InterruptedException {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Mac OS X", "Windows 11", "FreeBSD"})
    void otherSystemsGetADialerThatFailsClearly(String osName) {
        NamespaceDialer dialer = NamespaceDialers.create(ROOTS, Transport.nio(), osName);
        AtomicBoolean completedOnLoop = new AtomicBoolean();

        Future<Channel> dialed = dialer.dial(loop, "vm1", new InetSocketAddress("10.213.3.2", 80),
                Duration.ofSeconds(1), new ChannelInboundHandlerAdapter())
                .addListener(f -> completedOnLoop.set(loop.inEventLoop()));

        assertThat(dialed.awaitUninterruptibly(5, TimeUnit.SECONDS)).isTrue();
        assertThat(dialer).isInstanceOf(UnsupportedNamespaceDialer.class);
        assertThat(dialed.cause())
                .isInstanceOf(DialException.class)
                .hasMessage("network namespaces need Linux (this host runs " + osName + ")");
        await().untilTrue(completedOnLoop);
    }

    @Test
    void linuxGetsTheNamespaceDialer() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "network namespaces need Linux");

        try (NamespaceDialer dialer = NamespaceDialer.create(ROOTS, Transport.nio())) {
            assertThat(dialer).isInstanceOf(DeferredNamespaceDialer.class);
            // Set up by the first dial when nobody called prepare().
            assertThat(((DeferredNamespaceDialer) dialer).ready()).isInstanceOf(LinuxNamespaceDialer.class);
        }
    }

    @Test
    void needsAtLeastOneRoot() {
        assertThatThrownBy(() -> NamespaceDialer.create(List.of(), Transport.nio()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("netnsRoots: [] (expected: at least one directory)");
    }
}

package io.mergen.forwarder.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;

/** Dial failures that need neither root nor a namespace: they happen before any setns() succeeds. */
class DialFailureTest {
    private static final InetSocketAddress TARGET = new InetSocketAddress("10.213.3.2", 443);
    private static final Duration TIMEOUT = Duration.ofSeconds(1);

    @TempDir
    static Path root;

    private static NetworkNamespaces namespaces;
    private static EventLoopGroup group;
    private static EventLoop loop;
    private static LinuxNamespaceDialer dialer;

    @BeforeAll
    static void start() throws IOException {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "network namespaces need Linux");
        Files.writeString(root.resolve("plain"), "not a namespace");
        namespaces = new NetworkNamespaces(LinuxSyscalls.load(), List.of(root));
        Transport transport = Transport.detect();
        group = transport.newEventLoopGroup(1, "dial-failure-test");
        loop = group.next();
        dialer = new LinuxNamespaceDialer(namespaces, transport);
    }

    @AfterAll
    static void stop() throws Exception {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        if (namespaces != null) {
            namespaces.close();
        }
    }

    private static String dialFailure(String netnsName) {
        Future<Channel> dialed = dialer.dial(loop, netnsName, TARGET, TIMEOUT, new ChannelInboundHandlerAdapter());
        assertThat(dialed.awaitUninterruptibly(5, TimeUnit.SECONDS)).isTrue();
        assertThat(dialed.cause()).isInstanceOf(DialException.class);
        return dialed.cause().getMessage();
    }

    @Test
    void aFileThatIsNotANamespace() {
        assertThat(dialFailure("plain")).isEqualTo(
                "connect to 10.213.3.2:443 in netns plain: " + root.resolve("plain") + " is not a network namespace");
    }

    @Test
    void aMissingNamespace() {
        assertThat(dialFailure("vm1"))
                .isEqualTo("connect to 10.213.3.2:443 in netns vm1: netns vm1 not found in " + root);
    }

    @Test
    void anInvalidName() {
        assertThat(dialFailure("../plain")).isEqualTo("connect to 10.213.3.2:443 in netns ../plain: "
                + "netns name \"../plain\" is invalid: contains '/' (expected: a plain file name)");
    }

    @Test
    void refusesAnUnresolvedTarget() {
        assertThatThrownBy(() -> dialer.dial(loop, "vm1", InetSocketAddress.createUnresolved("db.internal", 5432),
                TIMEOUT, new ChannelInboundHandlerAdapter()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("target: db.internal/<unresolved>:5432 (expected: an IP address, no DNS)");
    }

    @Test
    void refusesANonPositiveTimeout() {
        assertThatThrownBy(() -> dialer.dial(loop, "vm1", TARGET, Duration.ZERO, new ChannelInboundHandlerAdapter()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("timeout: PT0S (expected: > 0)");
    }

    static Stream<Arguments> connectFailures() {
        return Stream.of(
                Arguments.of(new ConnectTimeoutException("connection timed out after 300 ms: /10.0.0.2:443"),
                        "timed out after 300 ms"),
                Arguments.of(new ConnectException("finishConnect(..) failed: Connection refused"),
                        "connection refused"),
                Arguments.of(new ConnectException("Connection refused"), "connection refused"),
                Arguments.of(new NoRouteToHostException(), "no route to host"),
                Arguments.of(new SocketException("Network is unreachable"), "network unreachable"),
                Arguments.of(new SocketException("connect(..) failed: Invalid argument"),
                        "connect(..) failed: Invalid argument"),
                Arguments.of(new IllegalStateException(), "IllegalStateException"));
    }

    @ParameterizedTest
    @MethodSource("connectFailures")
    void namesConnectFailuresPlainly(Throwable cause, String reason) {
        assertThat(LinuxNamespaceDialer.reason(cause, 300)).isEqualTo(reason);
    }
}

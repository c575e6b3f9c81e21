package io.mergen.forwarder.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;

class DeferredNamespaceDialerTest {
    private static final InetSocketAddress GUEST = new InetSocketAddress("10.213.3.2", 80);

    private static EventLoopGroup group;
    private static EventLoop loop;

    @BeforeAll
    static void startLoop() {
        group = Transport.nio().newEventLoopGroup(1, "deferred-test");
        loop = group.next();
    }

    @AfterAll
    static void stopLoop() throws InterruptedException {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @Test
    void aDialBeforeTheSetUpEndsWaitsForItThenGoesToTheDialerMadeOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger setUps = new AtomicInteger();
        RecordingDialer made = new RecordingDialer();
        DeferredNamespaceDialer dialer = new DeferredNamespaceDialer(() -> {
            setUps.incrementAndGet();
            awaitQuietly(release);
            return made;
        });
        dialer.prepare();
        dialer.prepare();

        // Dialing from a thread of the test's own: a regression that blocks forever must not take the loop with it.
        CompletableFuture<Future<Channel>> first = CompletableFuture.supplyAsync(() -> dial(dialer));
        Thread.sleep(200);
        assertThat(first).as("the dial waits for the set-up").isNotDone();
        release.countDown();

        first.get(5, TimeUnit.SECONDS);
        CompletableFuture.supplyAsync(() -> dial(dialer)).get(5, TimeUnit.SECONDS);
        assertThat(made.dials).hasValue(2);
        assertThat(setUps).hasValue(1);
        dialer.close();
        assertThat(made.closed).isTrue();
    }

    @Test
    void aSetUpThatFailsWithAnErrorFailsTheDialsAndLetsCloseReturn() throws Exception {
        DeferredNamespaceDialer dialer = new DeferredNamespaceDialer(() -> {
            throw new NoClassDefFoundError("jdk/internal/foreign/Missing");
        });

        Future<Channel> dialed = CompletableFuture.supplyAsync(() -> dial(dialer)).get(5, TimeUnit.SECONDS);

        assertThat(dialed.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(dialed.cause()).isInstanceOf(DialException.class)
                .hasMessageStartingWith("network namespaces unavailable: ");
        dialer.close();
    }

    @Test
    void closeWithoutASetUpDoesNothing() {
        AtomicBoolean setUp = new AtomicBoolean();
        new DeferredNamespaceDialer(() -> {
            setUp.set(true);
            return new RecordingDialer();
        }).close();

        assertThat(setUp).isFalse();
    }

    private static Future<Channel> dial(NamespaceDialer dialer) {
        return dialer.dial(loop, "vm1", GUEST, Duration.ofSeconds(1), new ChannelInboundHandlerAdapter());
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Fails every dial at once and counts them. */
    private static final class RecordingDialer implements NamespaceDialer {
        final AtomicInteger dials = new AtomicInteger();
        final AtomicBoolean closed = new AtomicBoolean();

        @Override
        public Future<Channel> dial(EventLoop loop, String netnsName, InetSocketAddress target, Duration timeout,
                ChannelHandler handler) {
            dials.incrementAndGet();
            return loop.newFailedFuture(new DialException("recorded"));
        }

        @Override
        public void close() {
            closed.set(true);
        }
    }
}

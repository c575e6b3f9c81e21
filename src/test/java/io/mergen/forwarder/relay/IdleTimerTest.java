package io.mergen.forwarder.relay;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class IdleTimerTest {
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final AtomicLong queued = new AtomicLong();
    private final AtomicInteger idleCalls = new AtomicInteger();
    private IdleTimer timer;

    @BeforeEach
    void start() {
        channel.freezeTime();
        timer = new IdleTimer(channel.eventLoop(), Duration.ofSeconds(1), queued::get, idleCalls::incrementAndGet);
        timer.start();
    }

    private void advanceMillis(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }

    @Test
    void firesOnceAfterTheTimeoutWithoutActivity() {
        advanceMillis(999);
        assertThat(idleCalls).hasValue(0);
        advanceMillis(1);
        assertThat(idleCalls).hasValue(1);
        advanceMillis(5_000);
        assertThat(idleCalls).as("fires once").hasValue(1);
    }

    @Test
    void aReadPushesTheDeadlineToATimeoutAfterIt() {
        advanceMillis(900);
        timer.touch();
        advanceMillis(999);
        assertThat(idleCalls).hasValue(0);
        advanceMillis(1);
        assertThat(idleCalls).hasValue(1);
    }

    @Test
    void queuedBytesDrainingWhileReadsArePausedCountAsActivity() {
        queued.set(64 * 1024);
        advanceMillis(1_000); // changed since the start: a write made progress
        assertThat(idleCalls).hasValue(0);
        queued.set(32 * 1024);
        advanceMillis(1_000);
        assertThat(idleCalls).hasValue(0);
        advanceMillis(1_000); // stuck: nothing read, nothing written
        assertThat(idleCalls).hasValue(1);
    }

    @Test
    void stoppedTimerNeverFires() {
        timer.stop();
        advanceMillis(10_000);
        assertThat(idleCalls).hasValue(0);
    }
}

package io.mergen.forwarder.relay;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.netty.util.concurrent.Ticker;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Ends a relayed connection once no byte has moved either way for the idle timeout.
 *
 * <p>Netty's IdleStateHandler watches writes by wrapping the promise of every write, an allocation and a listener
 * per relayed read that showed up in the keep-alive profile. Here every write follows a read of the other side, so
 * the reads of both sides ({@link #touch}) tell most of the story. The rest is a slow reader: while reads are
 * paused for backpressure, bytes still drain toward it, so before it ends a connection the timer also checks whether
 * the bytes queued for writing changed since its last look. One timer per connection, re-armed for the time still
 * left rather than on every read.
 */
final class IdleTimer implements Runnable {
    private final EventLoop loop;
    /** The loop's clock, the one its timers run on. */
    private final Ticker clock;
    private final long timeoutNanos;
    private final Runnable onIdle;
    private final LongSupplier queuedBytes;
    private long lastActivityNanos;
    private long lastQueuedBytes;
    private ScheduledFuture<?> pending;

    /** @param queuedBytes the bytes waiting to be written on both sides; a change means some were written */
    IdleTimer(EventLoop loop, Duration timeout, LongSupplier queuedBytes, Runnable onIdle) {
        this.loop = loop;
        this.clock = loop.ticker();
        this.timeoutNanos = timeout.toNanos();
        this.queuedBytes = queuedBytes;
        this.onIdle = onIdle;
    }

    /** Arms the timer; call on the connection's event loop. */
    void start() {
        lastActivityNanos = clock.nanoTime();
        pending = loop.schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /** Bytes moved now. */
    void touch() {
        lastActivityNanos = clock.nanoTime();
    }

    void stop() {
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
    }

    @Override
    public void run() {
        if (pending == null) {
            return; // stopped after this run was already queued
        }
        long queued = queuedBytes.getAsLong();
        if (queued != lastQueuedBytes) {
            lastQueuedBytes = queued;
            touch();
        }
        long left = timeoutNanos - (clock.nanoTime() - lastActivityNanos);
        if (left > 0) {
            pending = loop.schedule(this, left, TimeUnit.NANOSECONDS);
        } else {
            pending = null;
            onIdle.run();
        }
    }
}

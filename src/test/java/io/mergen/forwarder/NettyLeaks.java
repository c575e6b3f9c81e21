package io.mergen.forwarder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * Turns Netty's leak detector to PARANOID (every buffer tracked) and collects the leaks it reports, for fuzz tests
 * that must fail on any leak; a backstop to {@link TrackingAllocator}, which sees only the buffers it made.
 */
public final class NettyLeaks implements AutoCloseable {
    private static final Duration CANARY_TIMEOUT = Duration.ofSeconds(30);

    private final Logger logger = (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final ResourceLeakDetector.Level previous = ResourceLeakDetector.getLevel();

    private NettyLeaks() {
        appender.list = new CopyOnWriteArrayList<>();
        appender.start();
        logger.addAppender(appender);
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    public static NettyLeaks paranoid() {
        return new NettyLeaks();
    }

    /**
     * Fails if Netty reported a leak since {@link #paranoid()}. Leaks show only once the collector found the lost
     * object and the detector polled for it (which it does when it tracks a new buffer), so this first leaks a
     * canary buffer on purpose and collects and allocates until the canary's report is in.
     */
    public void assertNoneReported() {
        String canary = "nettyleaks-canary-" + UUID.randomUUID();
        // Direct: Netty tracks no unpooled heap buffer (their memory is the collector's anyway).
        Unpooled.directBuffer(1).touch(canary);
        await("Netty's report of the canary buffer leaked on purpose").atMost(CANARY_TIMEOUT)
                .pollInterval(Duration.ofMillis(20))
                .until(() -> {
                    System.gc();
                    Unpooled.directBuffer(1).release();
                    return reports().anyMatch(report -> report.contains(canary));
                });
        assertThat(reports().filter(report -> !report.contains(canary)))
                .as("leaks reported by Netty's ResourceLeakDetector")
                .isEmpty();
    }

    private Stream<String> reports() {
        return appender.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
                .map(ILoggingEvent::getFormattedMessage);
    }

    @Override
    public void close() {
        ResourceLeakDetector.setLevel(previous);
        logger.detachAppender(appender);
        appender.stop();
    }
}

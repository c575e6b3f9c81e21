package io.mergen.forwarder;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * Turns Netty's leak detector to PARANOID (every buffer tracked) and collects the leaks it reports, for fuzz tests
 * that must fail on any leak; a backstop to {@link TrackingAllocator}, which sees only the buffers it made.
 */
public final class NettyLeaks implements AutoCloseable {
    private static final int REPORT_ROUNDS = 3;

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
     * Collects garbage and allocates a little, which is when the detector reports the leaked objects the collector
     * found, then fails if any leak was reported since {@link #paranoid()}.
     */
    public void assertNoneReported() {
        for (int i = 0; i < REPORT_ROUNDS; i++) {
            System.gc();
            Unpooled.buffer(1).release();
        }
        assertThat(appender.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
                .map(ILoggingEvent::getFormattedMessage))
                .as("leaks reported by Netty's ResourceLeakDetector")
                .isEmpty();
    }

    @Override
    public void close() {
        ResourceLeakDetector.setLevel(previous);
        logger.detachAppender(appender);
        appender.stop();
    }
}

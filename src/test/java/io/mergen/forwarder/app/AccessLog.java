package io.mergen.forwarder.app;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mergen.forwarder.relay.ConnectionLog;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

import static org.awaitility.Awaitility.await;

/**
 * Collects the forwarder's per-connection lines (logger {@code mergen.access}) while a test runs, so the test
 * can check how a connection it caused was recorded.
 */
final class AccessLog implements AutoCloseable {
    /** One finished connection: its key-value pairs as the log line shows them. */
    record Line(Map<String, String> keys) {
        String get(String key) {
            return keys.get(key);
        }

        String outcome() {
            return get("outcome");
        }

        String reason() {
            return get("reason");
        }

        String serverName() {
            return get("serverName");
        }

        /** The listener's text, e.g. {@code 127.0.0.1:40001=443}. */
        String listener() {
            return get("listenAddr");
        }

        @Override
        public String toString() {
            return keys.toString();
        }
    }

    private final Logger logger = (Logger) LoggerFactory.getLogger(ConnectionLog.LOGGER_NAME);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    private AccessLog() {
        // Event loop threads append while the test reads.
        appender.list = new CopyOnWriteArrayList<>();
        appender.start();
        logger.addAppender(appender);
    }

    static AccessLog capture() {
        return new AccessLog();
    }

    List<Line> lines() {
        return appender.list.stream().map(AccessLog::line).toList();
    }

    /** Waits up to 10 s for a line that matches and returns the first such line. */
    Line awaitLine(String description, Predicate<Line> match) {
        return awaitLine(description, Duration.ofSeconds(10), match);
    }

    Line awaitLine(String description, Duration atMost, Predicate<Line> match) {
        await().alias(description + " in the access log; lines so far: " + lines())
                .atMost(atMost).pollInterval(Duration.ofMillis(50))
                .until(() -> lines().stream().anyMatch(match));
        return lines().stream().filter(match).findFirst().orElseThrow();
    }

    /** A line for {@code serverName} with {@code outcome}. */
    Line awaitLine(String serverName, String outcome) {
        return awaitLine(serverName + " with outcome " + outcome,
                line -> serverName.equals(line.serverName()) && outcome.equals(line.outcome()));
    }

    /** Forgets the lines so far: a test that reuses a server name looks only at what comes next. */
    void clear() {
        appender.list.clear();
    }

    private static Line line(ILoggingEvent event) {
        Map<String, String> keys = new LinkedHashMap<>();
        List<KeyValuePair> pairs = event.getKeyValuePairs();
        if (pairs != null) {
            pairs.forEach(pair -> keys.put(pair.key, String.valueOf(pair.value)));
        }
        return new Line(keys);
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
    }
}

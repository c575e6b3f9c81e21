package io.mergen.forwarder.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mergen.forwarder.relay.ConnectionLog;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.awaitility.Awaitility.await;

/**
 * Collects the forwarder's connection log lines ({@code mergen.access}) in memory, down to debug where handshake
 * noise goes, so a test can read the outcome and reason of the connection it made.
 */
final class AccessLogCapture implements AutoCloseable {
    private final Logger logger = (Logger) LoggerFactory.getLogger(ConnectionLog.LOGGER_NAME);
    private final Level previousLevel;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    AccessLogCapture() {
        // Event loops append while the test reads.
        appender.list = new CopyOnWriteArrayList<>();
        appender.start();
        previousLevel = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        logger.addAppender(appender);
    }

    /** One connection's line: its level and its key-value pairs. */
    record Line(ILoggingEvent event, Level level, Map<String, String> values) {
        String outcome() {
            return values.get("outcome");
        }

        /** The reason, or null when the line has none. */
        String reason() {
            return values.get("reason");
        }

        String serverName() {
            return values.get("serverName");
        }

        long durationMs() {
            return Long.parseLong(values.get("durationMs"));
        }

        /** The line as the console format writes it (message and key-value pairs), without the line end. */
        String consoleText() {
            PatternLayout layout = new PatternLayout();
            layout.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
            layout.setPattern("%msg %kvp");
            layout.start();
            return layout.doLayout(event);
        }
    }

    /** The client's address as the log writes it ({@code remoteAddr}); take it before the socket closes. */
    static String addressOf(Socket client) {
        InetSocketAddress local = (InetSocketAddress) client.getLocalSocketAddress();
        return local.getAddress().getHostAddress() + ":" + local.getPort();
    }

    /** The line of the connection from {@code remoteAddr}, waiting up to 10 s for that connection to end. */
    Line awaitLine(String remoteAddr) {
        return await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> find(remoteAddr), Optional::isPresent).orElseThrow();
    }

    Optional<Line> find(String remoteAddr) {
        return lines().stream().filter(line -> remoteAddr.equals(line.values().get("remoteAddr"))).findFirst();
    }

    /**
     * Forgets the lines captured so far. Client ports are reused over a long test class, so a lookup by address
     * must only see the lines of the current test.
     */
    void clear() {
        appender.list.clear();
    }

    List<Line> lines() {
        return appender.list.stream().map(AccessLogCapture::toLine).toList();
    }

    private static Line toLine(ILoggingEvent event) {
        Map<String, String> values = new LinkedHashMap<>();
        List<KeyValuePair> pairs = event.getKeyValuePairs();
        if (pairs != null) {
            pairs.forEach(pair -> values.put(pair.key, String.valueOf(pair.value)));
        }
        return new Line(event, event.getLevel(), values);
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        logger.setLevel(previousLevel);
        appender.stop();
    }
}

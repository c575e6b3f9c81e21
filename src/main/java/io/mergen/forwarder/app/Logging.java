package io.mergen.forwarder.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import io.mergen.forwarder.config.LogFormat;
import org.slf4j.LoggerFactory;

/** Configures Logback from FWD_LOG_LEVEL and FWD_LOG_FORMAT: one line per event on stderr, as the original did. */
final class Logging {
    private static final String CONSOLE_PATTERN =
            "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX,UTC} %-5level %-16logger{0} %msg %kvp%n";

    private Logging() {
    }

    static void configure(String level, LogFormat format) {
        apply((LoggerContext) LoggerFactory.getILoggerFactory(), level, format);
    }

    /** Replaces whatever {@code context} was configured with by our one stderr appender. */
    static void apply(LoggerContext context, String level, LogFormat format) {
        context.reset();

        Encoder<ILoggingEvent> encoder = switch (format) {
            case CONSOLE -> {
                PatternLayoutEncoder pattern = new PatternLayoutEncoder();
                pattern.setPattern(CONSOLE_PATTERN);
                yield pattern;
            }
            case JSON -> new JsonLineEncoder();
        };
        encoder.setContext(context);
        encoder.start();

        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        appender.setName("stderr");
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();

        Level ours = Level.toLevel(level, Level.DEBUG);
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.addAppender(appender);
        root.setLevel(ours);
        // Netty's own debug output (allocator and native library probing) drowns ours; trace still shows it.
        if (!ours.equals(Level.TRACE)) {
            context.getLogger("io.netty").setLevel(ours.isGreaterOrEqual(Level.INFO) ? ours : Level.INFO);
        }
    }
}

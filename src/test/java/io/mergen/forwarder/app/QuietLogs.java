package io.mergen.forwarder.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Raises the forwarder's loggers to WARN while a soak loop runs: tens of thousands of access and debug
 * lines would cost more CPU than the connections themselves. Warnings and errors still show.
 */
final class QuietLogs implements AutoCloseable {
    private static final List<String> NAMES = List.of("io.mergen", "mergen.access");

    private final List<Level> previous;

    private QuietLogs() {
        previous = NAMES.stream().map(name -> logger(name).getLevel()).toList();
        NAMES.forEach(name -> logger(name).setLevel(Level.WARN));
    }

    static QuietLogs start() {
        return new QuietLogs();
    }

    private static Logger logger(String name) {
        return (Logger) LoggerFactory.getLogger(name);
    }

    @Override
    public void close() {
        for (int i = 0; i < NAMES.size(); i++) {
            logger(NAMES.get(i)).setLevel(previous.get(i));
        }
    }
}

package io.mergen.forwarder.app;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.spi.ContextAwareBase;
import io.mergen.forwarder.config.LogFormat;

/**
 * Logback's configuration until {@link Main} applies FWD_LOG_LEVEL and FWD_LOG_FORMAT: the same stderr appender,
 * built in code. Found by Logback through {@code META-INF/services}; it replaces a {@code logback.xml}, whose XML
 * parsing took about 150 ms of the forwarder's start-up.
 */
public final class BootLogging extends ContextAwareBase implements Configurator {
    @Override
    public ExecutionStatus configure(LoggerContext context) {
        // Tests and operators who bring their own Logback file keep it.
        if (System.getProperty("logback.configurationFile") != null
                || BootLogging.class.getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        Logging.apply(context, "info", LogFormat.CONSOLE);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}

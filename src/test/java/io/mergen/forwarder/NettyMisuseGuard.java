package io.mergen.forwarder;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test during which Netty reported an error it could only log: a future's listener that threw, an exception
 * that went through a pipeline unhandled, a promise completed twice. Netty swallows these, so a test would otherwise
 * pass while the forwarder, say, skips closing a connection because a listener stopped half-way (that happened: an
 * unchecked exception from shutdown(2) escaped the relay's listener, and only the logs showed it).
 *
 * <p>Registered for every test through {@code META-INF/services}. A warning logged by a forwarder a test left running
 * after it ended is blamed on the next test; the message names the thread it came from.
 */
public final class NettyMisuseGuard implements BeforeEachCallback, AfterEachCallback {
    /** Loggers whose warnings always mean a bug in a handler or a listener of ours. */
    private static final List<String> LOGGERS = List.of(
            "io.netty.util.concurrent.DefaultPromise",
            "io.netty.channel.DefaultChannelPipeline",
            "io.netty.channel.AbstractChannelHandlerContext",
            "io.netty.util.internal.PromiseNotificationUtil");

    private static final ListAppender<ILoggingEvent> APPENDER = attach();

    private static ListAppender<ILoggingEvent> attach() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.list = new CopyOnWriteArrayList<>();
        appender.start();
        for (String name : LOGGERS) {
            ((Logger) LoggerFactory.getLogger(name)).addAppender(appender);
        }
        return appender;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        APPENDER.list.clear();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        List<String> reports = APPENDER.list.stream()
                .filter(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                .map(NettyMisuseGuard::describe)
                .toList();
        APPENDER.list.clear();
        assertThat(reports).as("errors Netty could only log during this test").isEmpty();
    }

    private static String describe(ILoggingEvent event) {
        IThrowableProxy thrown = event.getThrowableProxy();
        String cause = thrown == null ? "" : ": " + thrown.getClassName() + ": " + thrown.getMessage()
                + (thrown.getStackTraceElementProxyArray().length > 0
                        ? " at " + thrown.getStackTraceElementProxyArray()[0].getSTEAsString() : "");
        return "[" + event.getThreadName() + "] " + event.getFormattedMessage() + cause;
    }
}

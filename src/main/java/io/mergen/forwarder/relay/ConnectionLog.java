package io.mergen.forwarder.relay;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

import java.util.concurrent.TimeUnit;

/**
 * Writes the one line per finished connection, under its own logger name so operators can route it.
 *
 * <p>Keys follow the original forwarder's ({@code listenAddr, serverName, vmID, netns, targetAddr,
 * remoteAddr}) so existing log queries keep working.
 */
public final class ConnectionLog {
    public static final String LOGGER_NAME = "mergen.access";
    private static final Logger log = LoggerFactory.getLogger(LOGGER_NAME);

    public void finished(ConnectionFacts facts) {
        Outcome outcome = facts.outcome();
        // A client that never finished its handshake is noise on an internet-facing port: keep it at debug.
        Level level = switch (outcome) {
            case HANDSHAKE_FAILED, HANDSHAKE_TIMEOUT -> Level.DEBUG;
            default -> Level.INFO;
        };
        var line = log.atLevel(level).setMessage("connection closed")
                .addKeyValue("listenAddr", facts.listener())
                .addKeyValue("remoteAddr", facts.remote())
                .addKeyValue("serverName", facts.serverName())
                .addKeyValue("vmID", facts.vmId())
                .addKeyValue("netns", facts.netns())
                .addKeyValue("targetAddr", facts.target())
                .addKeyValue("bytesIn", facts.bytesFromClient())
                .addKeyValue("bytesOut", facts.bytesToClient())
                .addKeyValue("durationMs", TimeUnit.NANOSECONDS.toMillis(facts.ageNanos()))
                .addKeyValue("outcome", outcome.text());
        if (facts.detail() != null) {
            line = line.addKeyValue("reason", facts.detail());
        }
        line.log();
    }
}

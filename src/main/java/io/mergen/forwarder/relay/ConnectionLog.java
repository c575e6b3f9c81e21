package io.mergen.forwarder.relay;

import org.slf4j.Logger;
import io.netty.util.NetUtil;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;
import org.slf4j.event.Level;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
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
        // Scanners and broken clients are noise on an internet-facing port: keep them at debug.
        Level level = switch (outcome) {
            case HANDSHAKE_FAILED, HANDSHAKE_TIMEOUT, NOT_TLS, TOO_MANY_HANDSHAKES -> Level.DEBUG;
            default -> Level.INFO;
        };
        LoggingEventBuilder line = log.atLevel(level).setMessage("connection closed")
                .addKeyValue("listenAddr", facts.listener())
                .addKeyValue("remoteAddr", address(facts.remote()));
        // Facts a connection never reached (no SNI, no VM) are left out rather than logged as "null".
        line = optional(line, "serverName", facts.serverName());
        line = optional(line, "vmID", facts.vmId());
        line = optional(line, "netns", facts.netns());
        line = optional(line, "targetAddr", facts.target() == null ? null : address(facts.target()));
        line = line.addKeyValue("bytesIn", facts.bytesFromClient())
                .addKeyValue("bytesOut", facts.bytesToClient())
                .addKeyValue("durationMs", TimeUnit.NANOSECONDS.toMillis(facts.ageNanos()))
                .addKeyValue("outcome", outcome.text());
        optional(line, "reason", facts.detail()).log();
    }

    private static LoggingEventBuilder optional(LoggingEventBuilder line, String key, String value) {
        return value == null ? line : line.addKeyValue(key, printable(value));
    }

    /**
     * Escapes what a client controls (the SNI name can hold any byte but NUL) so that a value can neither end
     * the console line early nor close its quotes: backslash, quote and control characters become escapes.
     */
    static String printable(String value) {
        StringBuilder out = null;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            String escape = c == '\\' ? "\\\\" : c == '"' ? "\\\""
                    : Character.isISOControl(c) || c == '\u2028' || c == '\u2029' ? String.format("\\u%04x", (int) c)
                    : null;
            if (escape != null && out == null) {
                out = new StringBuilder(value.length() + 16).append(value, 0, i);
            }
            if (out != null) {
                out.append(escape != null ? escape : String.valueOf(c));
            }
        }
        return out == null ? value : out.toString();
    }

    /** {@code 127.0.0.1:443} or {@code [::1]:443}, without the slash InetSocketAddress.toString() adds. */
    static String address(SocketAddress address) {
        return address instanceof InetSocketAddress inet ? NetUtil.toSocketAddressString(inet) : String.valueOf(address);
    }
}

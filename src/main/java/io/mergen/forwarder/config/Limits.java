package io.mergen.forwarder.config;

import java.util.function.Function;

/**
 * Bounds that keep one client, one VM or a flood from taking the forwarder down for everyone else.
 *
 * @param maxConnections         open client connections across all listeners; 0 = no limit
 * @param maxConnectionsPerVm    open relayed connections to one VM; 0 = no limit
 * @param maxHandshakesPerClient TLS handshakes in progress at once from one client address; 0 = no limit
 * @param connectionBufferBytes  bytes queued toward one side of a connection before the other side's reads
 *                               pause (the high water mark; reads resume at half of it)
 */
public record Limits(int maxConnections, int maxConnectionsPerVm, int maxHandshakesPerClient,
                     int connectionBufferBytes) {

    static final int MIN_BUFFER = 1024;
    static final int MAX_BUFFER = 64 << 20;

    public Limits {
        if (maxConnections < 0 || maxConnectionsPerVm < 0 || maxHandshakesPerClient < 0) {
            throw new IllegalArgumentException("limits: negative (expected: >= 0, 0 = no limit)");
        }
        if (connectionBufferBytes < MIN_BUFFER || connectionBufferBytes > MAX_BUFFER) {
            throw new IllegalArgumentException("connectionBufferBytes: " + connectionBufferBytes
                    + " (expected: " + MIN_BUFFER + ".." + MAX_BUFFER + ")");
        }
    }

    static Limits read(EnvironmentReader reader) {
        return new Limits(
                reader.read(EnvVar.FWD_MAX_CONNECTIONS, count()),
                reader.read(EnvVar.FWD_MAX_CONNECTIONS_PER_VM, count()),
                reader.read(EnvVar.FWD_MAX_HANDSHAKES_PER_CLIENT, count()),
                reader.read(EnvVar.FWD_CONNECTION_BUFFER_BYTES,
                        value -> (int) Decimal.parse(value, MIN_BUFFER, MAX_BUFFER)));
    }

    private static Function<String, Integer> count() {
        return value -> (int) Decimal.parse(value, 0, Integer.MAX_VALUE);
    }
}

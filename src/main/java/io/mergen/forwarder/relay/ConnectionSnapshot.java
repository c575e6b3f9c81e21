package io.mergen.forwarder.relay;

/** One open connection as the admin endpoint shows it, copied on the connection's own event loop. */
public record ConnectionSnapshot(String client, String listener, String serverName, String vmId, String target,
                                 long ageSeconds, long bytesFromClient, long bytesToClient) {

    static ConnectionSnapshot of(ConnectionFacts facts) {
        return new ConnectionSnapshot(
                ConnectionLog.address(facts.remote()),
                facts.listener(),
                facts.serverName(),
                facts.vmId(),
                facts.target() == null ? null : ConnectionLog.address(facts.target()),
                facts.ageNanos() / 1_000_000_000L,
                facts.bytesFromClient(),
                facts.bytesToClient());
    }
}

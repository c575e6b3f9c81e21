package io.mergen.forwarder.relay;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * What the forwarder learned about one client connection, filled in as the connection moves through
 * its stages and logged once when it closes.
 *
 * <p>Every field is written and read on the client channel's event loop (the backend channel is
 * registered on the same loop), so plain fields are enough.
 */
public final class ConnectionFacts {
    static final AttributeKey<ConnectionFacts> KEY = AttributeKey.valueOf("mergen.connection");

    private final String listener;
    private final SocketAddress remote;
    private final long startNanos = System.nanoTime();
    private String serverName;
    private String vmId;
    private String netns;
    private InetSocketAddress target;
    private long bytesFromClient;
    private long bytesToClient;
    private Outcome outcome = Outcome.OPEN;
    private boolean overloaded;
    private String detail;

    ConnectionFacts(String listener, SocketAddress remote) {
        this.listener = listener;
        this.remote = remote;
    }

    static ConnectionFacts of(Channel client) {
        return client.attr(KEY).get();
    }

    void serverName(String serverName) {
        this.serverName = serverName;
    }

    void vm(String vmId, String netns, InetSocketAddress target) {
        this.vmId = vmId;
        this.netns = netns;
        this.target = target;
    }

    void countFromClient(long bytes) {
        bytesFromClient += bytes;
    }

    void countToClient(long bytes) {
        bytesToClient += bytes;
    }

    /** Records how the connection ended; the first explanation wins, later closes only echo it. */
    void end(Outcome outcome, String detail) {
        if (this.outcome == Outcome.OPEN || this.outcome == Outcome.RELAYING) {
            this.outcome = outcome;
            this.detail = detail;
        }
    }

    /** Accepted beyond FWD_MAX_CONNECTIONS: it gets the protocol's "overloaded" answer instead of a route. */
    void overloaded() {
        overloaded = true;
    }

    boolean isOverloaded() {
        return overloaded;
    }

    void relaying() {
        if (outcome == Outcome.OPEN) {
            outcome = Outcome.RELAYING;
        }
    }

    public String listener() {
        return listener;
    }

    public SocketAddress remote() {
        return remote;
    }

    public String serverName() {
        return serverName;
    }

    public String vmId() {
        return vmId;
    }

    public String netns() {
        return netns;
    }

    public InetSocketAddress target() {
        return target;
    }

    public long bytesFromClient() {
        return bytesFromClient;
    }

    public long bytesToClient() {
        return bytesToClient;
    }

    public long ageNanos() {
        return System.nanoTime() - startNanos;
    }

    /**
     * The final outcome: a relay that simply ran to its end counts as {@link Outcome#OK}, a client that left
     * before it was routed as {@link Outcome#CLIENT_CLOSED}.
     */
    public Outcome outcome() {
        return switch (outcome) {
            case RELAYING -> Outcome.OK;
            case OPEN -> Outcome.CLIENT_CLOSED;
            default -> outcome;
        };
    }

    public String detail() {
        return detail;
    }
}

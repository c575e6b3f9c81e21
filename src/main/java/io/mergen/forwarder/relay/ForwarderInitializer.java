package io.mergen.forwarder.relay;

import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.mergen.forwarder.protocol.ListenerProtocol;
import io.mergen.forwarder.protocol.PostgresOpening;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

import java.net.InetSocketAddress;
import java.util.concurrent.RejectedExecutionException;

/**
 * Builds the pipeline of a new client connection: {@code sni -> connector} on TLS listeners (the SNI stage
 * becomes the TLS handler once it routed), with the Postgres opening ({@code SSLRequest}) in front on Postgres
 * listeners, and {@code connector} alone on raw ones; the connector becomes the relay once the guest answers.
 */
public final class ForwarderInitializer extends ChannelInitializer<Channel> {
    private final ListenerContext listener;
    private final ActiveConnections connections;
    private final ConnectionLog connectionLog;

    private final PostgresCancelForwarder cancels;
    private final String postgresHint;
    /** The listener's name in logs and metrics, built once rather than per connection. */
    private final String listenerName;

    public ForwarderInitializer(ListenerContext listener, ActiveConnections connections, ConnectionLog connectionLog) {
        this.listener = listener;
        this.connections = connections;
        this.connectionLog = connectionLog;
        this.listenerName = listener.spec().text();
        this.cancels = new PostgresCancelForwarder(listener);
        this.postgresHint = "this port requires TLS with SNI: connect with sslmode=require and host=<vm>."
                + listener.domain();
    }

    @Override
    protected void initChannel(Channel ch) {
        ConnectionFacts facts = new ConnectionFacts(listenerName, ch.remoteAddress());
        ch.attr(ConnectionFacts.KEY).set(facts);
        connections.add(ch);
        listener.metrics().accepted(facts.listener());
        // Logged in a task of its own: SslHandler closes the channel before it fires the exception that
        // explains why, and the line and the metrics should carry that reason.
        ch.closeFuture().addListener(f -> {
            try {
                ch.eventLoop().execute(() -> finished(facts));
            } catch (RejectedExecutionException stopping) {
                finished(facts); // the loop is shutting down: no later task will run, so log now
            }
        });
        if (listener.limits().overGlobalLimit(connections.count())) {
            facts.overloaded();
            listener.metrics().limitHit("max_connections");
        }
        ConnectionLimits.Slot handshake = ConnectionLimits.Slot.UNLIMITED;
        if (listener.protocol() != ListenerProtocol.RAW && ch.remoteAddress() instanceof InetSocketAddress client) {
            handshake = listener.limits().acquireHandshake(client.getAddress());
            if (handshake == null) {
                // A flood from one address: drop it before it costs a handshake.
                facts.end(Outcome.TOO_MANY_HANDSHAKES, "more than FWD_MAX_HANDSHAKES_PER_CLIENT handshakes in progress");
                listener.metrics().limitHit("max_handshakes_per_client");
                ch.close();
                return;
            }
        }
        switch (listener.protocol()) {
            case RAW -> { }
            case POSTGRES -> ch.pipeline().addLast("pg-opening", new PostgresOpening(
                    () -> new ServerNameRouter(listener), cancels, postgresHint, listener.handshakeTimeout()));
            default -> ch.pipeline().addLast("sni", new ServerNameRouter(listener));
        }
        ch.pipeline().addLast("connector", new BackendConnector(listener, handshake));
    }

    private void finished(ConnectionFacts facts) {
        connectionLog.finished(facts);
        Outcome outcome = facts.outcome();
        ForwarderMetrics metrics = listener.metrics();
        metrics.closed(facts.listener(), outcome.text());
        if (outcome.isHandshakeFailure()) {
            metrics.handshakeFailed(outcome.text());
        } else if (outcome.isRouteFailure()) {
            metrics.routeFailed(outcome.text());
        }
    }
}

package io.mergen.forwarder.relay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

/**
 * Builds the pipeline of a new client connection: {@code sni -> connector} on TLS listeners (the SNI stage
 * becomes the TLS handler once it routed), {@code connector} alone on raw ones; the connector becomes the
 * relay once the guest answers.
 */
public final class ForwarderInitializer extends ChannelInitializer<Channel> {
    private final ListenerContext listener;
    private final ActiveConnections connections;
    private final ConnectionLog connectionLog;

    public ForwarderInitializer(ListenerContext listener, ActiveConnections connections, ConnectionLog connectionLog) {
        this.listener = listener;
        this.connections = connections;
        this.connectionLog = connectionLog;
    }

    @Override
    protected void initChannel(Channel ch) {
        ConnectionFacts facts = new ConnectionFacts(listener.spec().text(), ch.remoteAddress());
        ch.attr(ConnectionFacts.KEY).set(facts);
        connections.add(ch);
        ch.closeFuture().addListener(f -> connectionLog.finished(facts));
        if (listener.protocol() != ListenerProtocol.RAW) {
            ch.pipeline().addLast("sni", new ServerNameRouter(listener));
        }
        ch.pipeline().addLast("connector", new BackendConnector(listener));
    }
}

package io.mergen.forwarder.relay;

import io.mergen.forwarder.protocol.CancelKeys;
import io.mergen.forwarder.protocol.CancelRouter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;

/**
 * Delivers a clear-text Postgres CancelRequest to the VM whose guest issued the key. psql sends it on a new
 * connection without TLS or SNI when the user presses Ctrl-C, so the key is the only route there is.
 * Unknown keys are dropped without a word, as Postgres itself does, so keys cannot be probed.
 */
final class PostgresCancelForwarder implements CancelRouter {
    private static final Logger log = LoggerFactory.getLogger(PostgresCancelForwarder.class);

    private final ListenerContext listener;

    PostgresCancelForwarder(ListenerContext listener) {
        this.listener = listener;
    }

    @Override
    public void route(ChannelHandlerContext ctx, byte[] key, ByteBuf request) {
        Channel client = ctx.channel();
        ConnectionFacts facts = ConnectionFacts.of(client);
        Optional<CancelKeys.Target> target = listener.cancelKeys().find(key);
        if (target.isEmpty()) {
            request.release();
            facts.end(Outcome.CANCEL_UNKNOWN, "no connection holds this cancel key");
            client.close();
            return;
        }
        CancelKeys.Target to = target.get();
        facts.vm(to.vmId(), to.netns(), to.address());
        listener.dialer().dial(client.eventLoop(), to.netns(), to.address(), listener.dialTimeout(),
                new ChannelInboundHandlerAdapter()).addListener(f -> {
                    if (f.isSuccess()) {
                        facts.end(Outcome.CANCEL_FORWARDED, null);
                        ((Channel) f.getNow()).writeAndFlush(request).addListener(ChannelFutureListener.CLOSE);
                    } else {
                        request.release();
                        facts.end(Outcome.DIAL_FAILED, BackendConnector.reasonOf(f.cause()));
                        log.debug("cancel for VM {} not delivered: {}", to.vmId(), f.cause().getMessage());
                    }
                    client.close();
                });
    }
}

package io.mergen.forwarder.relay;

import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;

import java.time.Duration;

/**
 * One relayed connection: the client and guest channels, and the half-close bookkeeping between them.
 *
 * <p>A direction ends when its reader sees end of stream (TCP FIN or TLS close_notify); the end is passed
 * on as a half-close of the other side's output, so protocols that finish sending before they finish
 * reading keep working. When both directions have ended, both channels close. Both channels live on the
 * same event loop, so nothing here needs a lock.
 */
final class Relay {
    private final Channel client;
    private final Channel guest;
    private final ConnectionFacts facts;
    private final ForwarderMetrics.ByteCounters bytes;
    private final IdleTimer idle;
    private boolean clientInputEnded;
    private boolean guestInputEnded;

    Relay(Channel client, Channel guest, ConnectionFacts facts, ForwarderMetrics.ByteCounters bytes,
          Duration idleTimeout) {
        this.client = client;
        this.guest = guest;
        this.facts = facts;
        this.bytes = bytes;
        this.idle = new IdleTimer(client.eventLoop(), idleTimeout, this::queuedBytes, () -> {
            facts.end(Outcome.IDLE_TIMEOUT, "no bytes either way for the idle timeout");
            abort();
        });
    }

    /** Starts the idle timer; it stops when the client channel closes. Call on the event loop. */
    void start() {
        idle.start();
        client.closeFuture().addListener(f -> idle.stop());
    }

    void countFromClient(int count) {
        idle.touch();
        facts.countFromClient(count);
        bytes.addFromClient(count);
    }

    void countToClient(int count) {
        idle.touch();
        facts.countToClient(count);
        bytes.addToClient(count);
    }

    /** Bytes accepted for writing on either side and not yet handed to the kernel. */
    private long queuedBytes() {
        return queuedBytes(client) + queuedBytes(guest);
    }

    private static long queuedBytes(Channel channel) {
        ChannelOutboundBuffer queue = channel.unsafe().outboundBuffer();
        return queue == null ? 0 : queue.totalPendingWriteBytes();
    }

    Channel client() {
        return client;
    }

    Channel guest() {
        return guest;
    }

    ConnectionFacts facts() {
        return facts;
    }

    Channel peerOf(Channel channel) {
        return channel == client ? guest : client;
    }

    /** The reader of {@code channel} saw end of stream: shut the peer's output once what is queued is out. */
    void inputEnded(Channel channel) {
        boolean fromClient = channel == client;
        if (fromClient ? clientInputEnded : guestInputEnded) {
            return;
        }
        if (fromClient) {
            clientInputEnded = true;
        } else {
            guestInputEnded = true;
        }
        Channel peer = peerOf(channel);
        // The peer's socket may have read its end of stream without the relay hearing of it: under load, relays
        // were seen with the guest's input shut (Netty's flag) but no ChannelInputShutdownEvent handled, waiting
        // for it until the idle timeout. Their sockets, shut both ways, flag EPOLLHUP on every epoll_wait and keep
        // the event loop from sleeping meanwhile. A shut input has delivered all its bytes: it counts as ended.
        if (peer instanceof DuplexChannel duplex && duplex.isInputShutdown()) {
            if (fromClient) {
                guestInputEnded = true;
            } else {
                clientInputEnded = true;
            }
        }
        if (clientInputEnded && guestInputEnded) {
            closeBoth();
            return;
        }
        // An empty write completes after everything queued before it, so the FIN follows the last byte.
        peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                shutdownOutput(peer);
            } else {
                closeBoth();
            }
        });
    }

    private void shutdownOutput(Channel channel) {
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        if (tls != null) {
            // TLS half-close: close_notify first, then the TCP FIN.
            tls.closeOutbound().addListener(f -> shutdownSocketOutput(channel));
        } else {
            shutdownSocketOutput(channel);
        }
    }

    private void shutdownSocketOutput(Channel channel) {
        if (channel instanceof DuplexChannel duplex && channel.isActive()) {
            OutputShutdown.shutdown(duplex).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    closeBoth();
                }
            });
        } else {
            channel.close();
        }
    }

    /** Closes both sides once what was already queued for each has been flushed. */
    void closeBoth() {
        closeOnFlush(client);
        closeOnFlush(guest);
    }

    /** Closes both sides at once, dropping anything queued: for resets and errors. */
    void abort() {
        client.close();
        guest.close();
    }

    static void closeOnFlush(Channel channel) {
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }
}

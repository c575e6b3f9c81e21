package io.mergen.forwarder.relay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;

import java.io.IOException;
import java.nio.channels.NotYetConnectedException;

/**
 * Sends a channel's FIN: the TCP half of a half-close.
 *
 * <p>Netty's {@code shutdownOutput()} builds a {@code ChannelOutputShutdownException}, with a full stack trace, on
 * every call, to fail writes that may still be queued. The relay shuts an output only once everything queued for it
 * has been written, so for an epoll socket with nothing queued this calls shutdown(2) directly: 1.7% of the CPU of
 * short TLS connections went to that stack trace. The socket's own state still records the shutdown, so
 * {@code isOutputShutdown()} reads true. A write after it fails with EPIPE and Netty closes the channel, where
 * Netty's path failed the write alone; the relay writes nothing after a half-close, and a relay write that fails
 * aborts both sides on either path.
 */
final class OutputShutdown {
    private OutputShutdown() {
    }

    /** Shuts {@code channel}'s output. Call on its event loop. */
    static ChannelFuture shutdown(DuplexChannel channel) {
        if (channel instanceof AbstractEpollStreamChannel epoll && nothingQueued(epoll)
                && epoll.fd() instanceof Socket socket) {
            try {
                socket.shutdown(false, true);
                return channel.newSucceededFuture();
            } catch (IOException | NotYetConnectedException e) {
                // ENOTCONN (Netty throws NotYetConnectedException): the peer reset the connection meanwhile.
                return channel.newFailedFuture(e);
            }
        }
        return channel.shutdownOutput();
    }

    private static boolean nothingQueued(Channel channel) {
        ChannelOutboundBuffer queue = channel.unsafe().outboundBuffer();
        return queue != null && queue.isEmpty();
    }
}

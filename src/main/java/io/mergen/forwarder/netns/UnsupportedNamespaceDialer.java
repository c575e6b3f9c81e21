package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.time.Duration;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

/** Fails every dial with the reason namespaces cannot be used on this host. */
final class UnsupportedNamespaceDialer implements NamespaceDialer {
    private final String reason;

    UnsupportedNamespaceDialer(String reason) {
        this.reason = requireNonNull(reason, "reason");
    }

    String reason() {
        return reason;
    }

    @Override
    public Future<Channel> dial(EventLoop loop, String netnsName, InetSocketAddress target, Duration timeout,
            ChannelHandler handler) {
        requireNonNull(loop, "loop");
        requireNonNull(netnsName, "netnsName");
        requireNonNull(target, "target");
        requireNonNull(timeout, "timeout");
        requireNonNull(handler, "handler");
        return loop.newFailedFuture(new DialException(reason));
    }
}

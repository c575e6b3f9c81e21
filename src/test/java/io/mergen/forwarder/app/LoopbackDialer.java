package io.mergen.forwarder.app;

import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.netns.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

import java.net.InetSocketAddress;
import java.time.Duration;

/** A dialer that ignores the namespace and dials from the host: relay tests on loopback, no root needed. */
final class LoopbackDialer implements NamespaceDialer {
    private final Transport transport;

    LoopbackDialer(Transport transport) {
        this.transport = transport;
    }

    @Override
    public Future<Channel> dial(EventLoop loop, String netnsName, InetSocketAddress target, Duration timeout,
                                ChannelHandler handler) {
        Promise<Channel> promise = loop.newPromise();
        new Bootstrap().group(loop)
                .channelFactory(transport::newSocketChannel)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout.toMillis())
                .handler(handler)
                .connect(target)
                .addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        promise.setSuccess(f.channel());
                    } else {
                        promise.setFailure(f.cause());
                    }
                });
        return promise;
    }
}

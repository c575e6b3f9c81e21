package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.time.Duration;
import java.util.function.Supplier;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/** Dials a guest by creating the socket inside the VM's namespace and connecting it on the host's event loop. */
final class LinuxNamespaceDialer implements NamespaceDialer {
    private static final Duration MAX_TIMEOUT = Duration.ofMillis(Integer.MAX_VALUE);

    private final NetworkNamespaces namespaces;
    private final Transport transport;

    LinuxNamespaceDialer(NetworkNamespaces namespaces, Transport transport) {
        this.namespaces = requireNonNull(namespaces, "namespaces");
        this.transport = requireNonNull(transport, "transport");
    }

    @Override
    public Future<Channel> dial(EventLoop loop, String netnsName, InetSocketAddress target, Duration timeout,
            ChannelHandler handler) {
        requireNonNull(loop, "loop");
        requireNonNull(netnsName, "netnsName");
        requireNonNull(target, "target");
        requireNonNull(timeout, "timeout");
        requireNonNull(handler, "handler");
        if (target.isUnresolved()) {
            throw new IllegalArgumentException("target: " + target + " (expected: an IP address, no DNS)");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
        int timeoutMillis = timeout.compareTo(MAX_TIMEOUT) >= 0
                ? Integer.MAX_VALUE : (int) Math.max(1, timeout.toMillis()); // 0 would mean "no timeout" to Netty
        // Built only when a dial fails: formatting it on every dial cost ~0.7 KB of garbage per connection.
        Supplier<String> context = () -> "connect to " + NetUtil.toSocketAddressString(target) + " in netns "
                + NetworkNamespaces.printable(netnsName);
        Promise<Channel> promise = loop.newPromise();

        Channel channel;
        try {
            // Runs on the calling thread, normally this event loop. That is fine here: open() of an nsfs file under
            // /run/netns (tmpfs), setns(), socket() and close() are in-memory kernel operations that never wait on
            // a device (about 15 µs per dial in bench/jmh, against ~400 µs for a handshake). The socket stays in the
            // VM's namespace; the thread does not.
            channel = namespaces.inside(netnsName, transport::newSocketChannel);
        } catch (DialException e) {
            return promise.setFailure(new DialException(context.get() + ": " + e.getMessage(), e));
        } catch (RuntimeException e) {
            // socket() failed (ChannelException, e.g. EMFILE) or the caller is a virtual thread.
            return promise.setFailure(new DialException(context.get() + ": " + reason(e, timeoutMillis), e));
        }

        try {
            channel.config().setAutoRead(false);
            channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            channel.config().setConnectTimeoutMillis(timeoutMillis);
            channel.pipeline().addLast(handler);
        } catch (RuntimeException e) {
            channel.unsafe().closeForcibly();
            return promise.setFailure(new DialException(context.get() + ": " + reason(e, timeoutMillis), e));
        }

        // Both listeners run on the loop, so a cancel is seen either here or by the registration listener below.
        promise.addListener(done -> {
            if (done.isCancelled() && channel.isRegistered()) {
                channel.close();
            }
        });
        loop.register(channel).addListener((ChannelFuture registered) -> {
            if (!registered.isSuccess()) {
                // An unregistered channel has no loop to run close() on; close its fd directly, as Bootstrap does.
                channel.unsafe().closeForcibly();
                promise.tryFailure(new DialException(
                        context.get() + ": registration failed: " + reason(registered.cause(), timeoutMillis),
                        registered.cause()));
                return;
            }
            if (promise.isDone()) {
                channel.close();
                return;
            }
            channel.connect(target).addListener((ChannelFuture connected) -> {
                if (connected.isSuccess()) {
                    if (!promise.trySuccess(channel)) {
                        channel.close();
                    }
                    return;
                }
                channel.close();
                promise.tryFailure(new DialException(context.get() + ": " + reason(connected.cause(), timeoutMillis),
                        connected.cause()));
            });
        });
        return promise;
    }

    @Override
    public void close() {
        try {
            namespaces.close();
        } catch (SyscallException e) {
            // Closing an fd only fails if it is already gone; nothing is left to release.
        }
    }

    /** The failure in words an operator reads in a log line after "connect to ... in netns ...: ". */
    static String reason(Throwable cause, int timeoutMillis) {
        if (cause instanceof ConnectTimeoutException) {
            return "timed out after " + timeoutMillis + " ms";
        }
        if (cause instanceof NoRouteToHostException) {
            return "no route to host";
        }
        String message = cause.getMessage();
        if (message == null) {
            return cause.getClass().getSimpleName();
        }
        if (cause instanceof ConnectException && message.contains("Connection refused")) {
            return "connection refused";
        }
        if (message.contains("Network is unreachable")) {
            return "network unreachable";
        }
        return message;
    }
}

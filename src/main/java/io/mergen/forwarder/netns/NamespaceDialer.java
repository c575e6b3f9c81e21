package io.mergen.forwarder.netns;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

/** Opens TCP connections to guest addresses from inside VMs' network namespaces. */
public interface NamespaceDialer extends AutoCloseable {
    /**
     * Dials target inside the named namespace; the returned future completes on {@code loop}. The channel is created
     * with AUTO_READ=false and ALLOW_HALF_CLOSURE=true, registered on {@code loop} with {@code handler} installed,
     * connected with the given timeout. Failures carry a {@link DialException} with a clear message; on failure the
     * channel is closed.
     *
     * <p>Call it from a platform thread, normally {@code loop} itself: the namespace switch happens on the calling
     * thread. {@code target} must be an IP literal (no DNS).
     */
    Future<Channel> dial(EventLoop loop, String netnsName, InetSocketAddress target,
            Duration timeout, ChannelHandler handler);

    /**
     * Starts what the first dial needs, in the background, once the listeners are up. Call it from a thread in the
     * host namespace. Dialing works without it; the first dial then waits for the set-up.
     */
    default void prepare() {
    }

    /** Releases what the dialer holds (the host namespace's descriptor); no dial may follow. */
    @Override
    default void close() {
    }

    /**
     * The Linux dialer when the system is Linux, otherwise one whose every dial fails with the reason. The Linux one
     * is set up by {@link #prepare()} or the first dial; if namespaces cannot be used after all, it logs why and every
     * dial fails with that reason.
     *
     * @param netnsRoots directories holding namespace files (e.g. {@code /run/netns}), tried in order
     */
    static NamespaceDialer create(List<Path> netnsRoots, Transport transport) {
        return NamespaceDialers.create(netnsRoots, transport, System.getProperty("os.name", "unknown"));
    }
}

package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Linux dialer, set up on a thread of its own once the forwarder listens. Linking setns() and open() through FFM
 * spins a class per function: ~90 ms of interpreted work that start-up to listening need not wait for. A dial that
 * comes before the set-up is done waits for it, once; every later dial goes straight to the {@link LinuxNamespaceDialer}.
 */
final class DeferredNamespaceDialer implements NamespaceDialer {
    private static final Logger log = LoggerFactory.getLogger(DeferredNamespaceDialer.class);

    private final Supplier<NamespaceDialer> setUp;
    private final AtomicBoolean started = new AtomicBoolean();
    private final CompletableFuture<NamespaceDialer> ready = new CompletableFuture<>();

    DeferredNamespaceDialer(List<Path> roots, Transport transport) {
        this(linuxDialer(List.copyOf(requireNonNull(roots, "roots")), requireNonNull(transport, "transport")));
    }

    /** @param setUp makes the dialer, on the set-up thread */
    DeferredNamespaceDialer(Supplier<NamespaceDialer> setUp) {
        this.setUp = requireNonNull(setUp, "setUp");
    }

    /**
     * Starts the set-up. The thread that calls it must be in the host namespace (main, or an event loop outside a
     * dial): the set-up thread inherits that namespace and records it as the one every dial returns to.
     */
    @Override
    public void prepare() {
        if (started.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("netns-setup").start(() -> {
                try {
                    ready.complete(setUp.get());
                } finally {
                    // An Error escaped the set-up: dials must fail, not wait forever. A no-op once completed.
                    ready.completeExceptionally(new IllegalStateException("network namespace set-up failed"));
                }
            });
        }
    }

    private static Supplier<NamespaceDialer> linuxDialer(List<Path> roots, Transport transport) {
        return () -> {
            try {
                return new LinuxNamespaceDialer(new NetworkNamespaces(LinuxSyscalls.load(), roots), transport);
            } catch (SyscallException | RuntimeException | LinkageError e) {
                // The forwarder still runs (and serves its error responses); every dial then names this reason.
                String reason = "network namespaces unavailable: " + e.getMessage();
                log.error("namespace dialing disabled: {}", reason, e);
                return new UnsupportedNamespaceDialer(reason);
            }
        };
    }

    /** The dialer once set up; blocks the caller, an event loop, only for the first dials after start-up. */
    NamespaceDialer ready() {
        prepare();
        return ready.join();
    }

    @Override
    public Future<Channel> dial(EventLoop loop, String netnsName, InetSocketAddress target, Duration timeout,
            ChannelHandler handler) {
        NamespaceDialer dialer;
        try {
            dialer = ready();
        } catch (CompletionException e) {
            return loop.newFailedFuture(new DialException("network namespaces unavailable: " + e.getCause(), e));
        }
        return dialer.dial(loop, netnsName, target, timeout, handler);
    }

    @Override
    public void close() {
        if (started.get()) {
            NamespaceDialer dialer = ready.exceptionally(failure -> null).join();
            if (dialer != null) {
                dialer.close();
            }
        }
    }
}

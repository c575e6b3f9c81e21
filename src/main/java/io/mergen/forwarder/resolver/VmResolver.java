package io.mergen.forwarder.resolver;

import static java.util.Objects.requireNonNull;

import io.mergen.forwarder.config.DomainRule;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps an up-to-date {@link RouteTable} of the VMs under the config root and routes server names with it.
 *
 * <p>All disk access happens on the "resolver-watch" thread (or the caller of {@link #start}/{@link #reload});
 * readers only load a reference, so event loops can call {@link #current()} and {@link #route} freely.
 */
public final class VmResolver implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(VmResolver.class);
    private static final Duration DEFAULT_RESCAN_INTERVAL = Duration.ofSeconds(1);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);

    private final Path configRoot;
    private final long rescanNanos;
    private final DomainRule domain;
    private final MetaDirectoryScanner scanner;
    private final AtomicReference<RouteTable> current = new AtomicReference<>(RouteTable.empty());
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicBoolean started = new AtomicBoolean();
    private final Object scanLock = new Object();
    private final Set<AliasConflict> loggedConflicts = new HashSet<>();
    private volatile DirectoryWatcher watcher;
    private volatile Thread thread;
    private volatile boolean closed;

    /**
     * @param rescanInterval the longest time between two full rescans, whatever the watch reports; zero means
     *     the default of one second
     */
    public VmResolver(Path configRoot, Duration rescanInterval, DomainRule domain) {
        requireNonNull(configRoot, "configRoot");
        requireNonNull(rescanInterval, "rescanInterval");
        this.domain = requireNonNull(domain, "domain");
        if (rescanInterval.isNegative()) {
            throw new IllegalArgumentException("rescanInterval: " + rescanInterval + " (expected: >= 0)");
        }
        this.configRoot = configRoot.toAbsolutePath().normalize();
        this.rescanNanos = (rescanInterval.isZero() ? DEFAULT_RESCAN_INTERVAL : rescanInterval).toNanos();
        this.scanner = new MetaDirectoryScanner(this.configRoot);
    }

    /** Loads the VMs now, so the forwarder starts with routes, then keeps watching for changes. */
    public void start() {
        if (closed || !started.compareAndSet(false, true)) {
            throw new IllegalStateException("start: already started or closed (expected: a new resolver)");
        }
        watcher = DirectoryWatcher.open(configRoot);
        rescan();
        // A platform thread: it blocks in the WatchService, and a daemon so it never holds up JVM exit.
        Thread watchThread = Thread.ofPlatform().name("resolver-watch").daemon(true).unstarted(this::watchLoop);
        thread = watchThread;
        watchThread.start();
    }

    /** The current snapshot; never does I/O. */
    public RouteTable current() {
        return current.get();
    }

    /** Routes a TLS server name: its label under the domain, looked up among the current aliases. */
    public Route route(String serverName) {
        if (serverName == null || serverName.isEmpty()) {
            return new Route.NoSni();
        }
        Optional<String> label = domain.labelOf(serverName);
        if (label.isEmpty()) {
            return new Route.OutsideDomain(serverName);
        }
        Optional<VmRoute> vm = current().byAlias(label.get());
        return vm.isPresent()
                ? new Route.Found(serverName, label.get(), vm.get())
                : new Route.UnknownLabel(serverName, label.get());
    }

    /** Rescans the config root now and returns once the new snapshot is in place. */
    public void reload() {
        if (closed) {
            throw new IllegalStateException("reload: resolver is closed");
        }
        rescan();
    }

    @Override
    public void close() {
        closed = true;
        DirectoryWatcher w = watcher;
        if (w != null) {
            w.close();
        }
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
            try {
                t.join(CLOSE_TIMEOUT);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void watchLoop() {
        DirectoryWatcher w = watcher;
        long nextRescan = System.nanoTime() + rescanNanos;
        while (!closed) {
            try {
                long wait = nextRescan - System.nanoTime();
                if (wait > 0) {
                    if (!w.awaitChange(wait)) {
                        continue;
                    }
                    w.settle();
                }
                rescan();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                if (closed) {
                    return;
                }
                logger.error("Watching {} stopped unexpectedly; routes are no longer updated", configRoot, e);
                return;
            } catch (RuntimeException e) {
                logger.error("Rescanning {} failed; retrying at the next change or rescan", configRoot, e);
            }
            nextRescan = System.nanoTime() + rescanNanos;
        }
    }

    private void rescan() {
        synchronized (scanLock) {
            if (closed) {
                return;
            }
            DirectoryWatcher w = watcher;
            if (w != null) {
                w.watchRoot();
            }
            MetaDirectoryScanner.Scan scan = scanner.scan(w == null ? folder -> {} : w::watchFolder);
            switch (scan) {
                case MetaDirectoryScanner.Scan.Listed listed -> {
                    if (w != null) {
                        w.retainFolders(listed.folders());
                    }
                    publish(RouteTable.of(listed.vms(), listed.namesById()));
                }
                case MetaDirectoryScanner.Scan.RootMissing missing -> publish(RouteTable.empty());
                // A transient listing error must not drop every route: keep the last snapshot.
                case MetaDirectoryScanner.Scan.RootUnreadable unreadable -> { }
            }
        }
    }

    /** How many times the metadata was scanned and a snapshot published, for the reload metric. */
    public long reloads() {
        return reloads.get();
    }

    private void publish(RouteTable next) {
        RouteTable previous = current.getAndSet(next);
        reloads.incrementAndGet();
        Set<String> before = ids(previous.vms());
        Set<String> after = ids(next.vms());
        if (!before.equals(after)) {
            Set<String> added = new TreeSet<>(after);
            added.removeAll(before);
            Set<String> removed = new TreeSet<>(before);
            removed.removeAll(after);
            logger.info("Routable VMs under {}: {} (added {}, removed {})", configRoot, after.size(), added, removed);
        } else if (!previous.vms().equals(next.vms()) || !previous.aliases().equals(next.aliases())) {
            logger.debug("VM details changed under {}: {}", configRoot, next.vms());
        }
        for (AliasConflict conflict : next.conflicts()) {
            if (loggedConflicts.add(conflict)) {
                logger.warn("Alias {} is claimed by VMs {} and {}: routing it to {} ({})", conflict.alias(),
                        conflict.winnerId(), conflict.loserId(), conflict.winnerId(), conflict.reason());
            }
        }
        // Forget settled conflicts, so one that comes back is reported again.
        loggedConflicts.retainAll(Set.copyOf(next.conflicts()));
    }

    private static Set<String> ids(List<VmRoute> vms) {
        Set<String> ids = new HashSet<>();
        vms.forEach(vm -> ids.add(vm.id()));
        return ids;
    }
}

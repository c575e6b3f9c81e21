package io.mergen.forwarder.resolver;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;
import static java.util.Objects.requireNonNull;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes the resolver when something under the config root may have changed (inotify through a WatchService).
 *
 * <p>Registration methods run under the resolver's scan lock; {@link #awaitChange} and {@link #settle} run on
 * the watch thread. Without a WatchService (the platform refused one) it only waits, and periodic rescans do
 * all the work.
 */
final class DirectoryWatcher implements Closeable {

    private static final Logger logger = LoggerFactory.getLogger(DirectoryWatcher.class);

    // A manager creates a folder, then writes and renames files in it: wait for such a burst to go quiet,
    // but never longer than DEBOUNCE_MAX_NANOS, so a change is routable well within a second.
    private static final long DEBOUNCE_QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long DEBOUNCE_MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    private final Path root;
    private final Path parent;
    private final WatchService service;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Map<Path, Registration> registrations = new HashMap<>();
    private final Set<Path> failedRegistrations = new HashSet<>();

    private DirectoryWatcher(Path root, WatchService service) {
        this.root = root;
        this.parent = root.getParent();
        this.service = service;
    }

    /** A watcher for {@code root} (absolute); falls back to waiting only when no WatchService is available. */
    static DirectoryWatcher open(Path root) {
        requireNonNull(root, "root");
        try {
            return new DirectoryWatcher(root, root.getFileSystem().newWatchService());
        } catch (IOException | UnsupportedOperationException e) {
            logger.warn("Cannot watch {} ({}): changes are seen only by periodic rescans", root, e.toString());
            return new DirectoryWatcher(root, null);
        }
    }

    /**
     * Watches the root, or its parent while the root is missing so that its creation wakes us. Checks the root
     * again after watching the parent: a root created in between is then seen here rather than missed.
     */
    synchronized void watchRoot() {
        if (service == null) {
            return;
        }
        if (!Files.isDirectory(root) && parent != null && Files.isDirectory(parent)) {
            watch(parent);
        }
        if (Files.isDirectory(root)) {
            watch(root);
            forget(parent);
        }
    }

    /** Watches one VM folder for changes to its meta.json. */
    synchronized void watchFolder(Path folder) {
        if (service != null) {
            watch(folder);
        }
    }

    /** Stops watching VM folders that are gone. */
    synchronized void retainFolders(Collection<Path> folders) {
        Set<Path> keep = new HashSet<>(folders);
        keep.add(root);
        if (!Files.isDirectory(root)) {
            keep.add(parent);
        }
        for (Iterator<Map.Entry<Path, Registration>> it = registrations.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Path, Registration> entry = it.next();
            if (!keep.contains(entry.getKey())) {
                entry.getValue().key().cancel();
                it.remove();
            }
        }
        failedRegistrations.retainAll(keep);
    }

    /**
     * Waits up to {@code timeoutNanos} for one batch of events; true when it concerns the resolver (a folder or
     * meta.json changed, the root appeared or vanished, or events were lost), false on timeout or noise.
     */
    boolean awaitChange(long timeoutNanos) throws InterruptedException {
        if (service == null) {
            closed.await(timeoutNanos, TimeUnit.NANOSECONDS);
            return false;
        }
        WatchKey key = service.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        return key != null && drain(key);
    }

    /** Swallows the rest of a burst of events, so that one rescan covers all of it. */
    void settle() throws InterruptedException {
        if (service == null) {
            return;
        }
        long deadline = System.nanoTime() + DEBOUNCE_MAX_NANOS;
        for (long left = DEBOUNCE_MAX_NANOS; left > 0; left = deadline - System.nanoTime()) {
            WatchKey key = service.poll(Math.min(DEBOUNCE_QUIET_NANOS, left), TimeUnit.NANOSECONDS);
            if (key == null) {
                return;
            }
            drain(key);
        }
    }

    @Override
    public void close() {
        closed.countDown();
        if (service != null) {
            try {
                service.close();
            } catch (IOException e) {
                logger.debug("Closing the watch service of {} failed", root, e);
            }
        }
    }

    private boolean drain(WatchKey key) {
        Path dir = (Path) key.watchable();
        boolean relevant = false;
        for (WatchEvent<?> event : key.pollEvents()) {
            relevant |= event.kind() == OVERFLOW || concerns(dir, (Path) event.context());
        }
        // An invalid key means the folder itself went away (or was replaced): rescan to find out.
        return !key.reset() || relevant;
    }

    private boolean concerns(Path dir, Path name) {
        if (dir.equals(root)) {
            return true;
        }
        if (dir.equals(parent)) {
            return name.equals(root.getFileName());
        }
        // VM folders may hold other files (logs, sockets) that change all the time.
        return name.toString().equals(MetaFile.FILE_NAME);
    }

    private void watch(Path dir) {
        Object fileKey;
        try {
            fileKey = Files.readAttributes(dir, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            // Gone already: the scan that follows does not see it either.
            return;
        }
        Registration current = registrations.get(dir);
        // Same path, other inode: the folder was deleted and recreated, and the old key watches nothing.
        if (current != null && current.key().isValid() && Objects.equals(current.fileKey(), fileKey)) {
            return;
        }
        if (current != null) {
            current.key().cancel();
        }
        try {
            WatchKey key = dir.register(service, ENTRY_CREATE, ENTRY_DELETE, ENTRY_MODIFY);
            registrations.put(dir, new Registration(key, fileKey));
            failedRegistrations.remove(dir);
        } catch (IOException e) {
            registrations.remove(dir);
            if (failedRegistrations.add(dir)) {
                logger.warn("Cannot watch {} ({}): its changes are seen only by periodic rescans", dir, e.toString());
            }
        }
    }

    private void forget(Path dir) {
        Registration registration = dir == null ? null : registrations.remove(dir);
        if (registration != null) {
            registration.key().cancel();
        }
    }

    private record Registration(WatchKey key, Object fileKey) {}
}

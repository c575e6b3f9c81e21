package io.mergen.forwarder.tls;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;
import static java.util.Objects.requireNonNull;

import io.mergen.forwarder.config.CertPair;
import io.mergen.forwarder.config.ConfigException;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves each handshake the certificate whose names cover its server name, and swaps in rewritten certificate files
 * without a restart, keeping the old certificate in service while the new files are unusable.
 *
 * <p>Threads: {@link #context} runs on event loops and only reads a volatile snapshot; loading, context building and
 * swapping run on the "cert-watch" thread or the caller of {@link #reload}, one at a time.
 */
public final class CertificateStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CertificateStore.class);
    static final String EXTRA_VARIABLE = "FWD_TLS_CERTS";
    /** Certificate tools write the chain and the key one after the other; wait for both before loading. */
    static final Duration DEBOUNCE = Duration.ofMillis(150);
    /** A file rewritten without pause still gets loaded this soon after its first change. */
    static final Duration MAX_DELAY = Duration.ofMillis(600);

    /** Index 0 is the default pair, the rest follow {@code FWD_TLS_CERTS} order. */
    private final List<CertPair> pairs;
    private final TlsOptions options;
    /** ALPN lists to build contexts for as soon as a pair is (re)loaded, so handshakes find them built. */
    private final Set<List<String>> alpnLists = ConcurrentHashMap.newKeySet();
    private final Object reloadLock = new Object();
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong reloadFailures = new AtomicLong();
    private volatile Snapshot snapshot;
    private volatile boolean closed;
    private WatchService watchService;
    private Thread watcher;

    private CertificateStore(List<CertPair> pairs, List<Served> served, TlsOptions options) {
        this.pairs = pairs;
        this.options = options;
        this.snapshot = Snapshot.of(served);
    }

    /** What one {@link #reload()} did: pairs swapped for new files, pairs whose files were unchanged, pairs kept. */
    public record ReloadSummary(int replaced, int unchanged, int failed) {
        /** True when every pair's files were usable. */
        public boolean ok() {
            return failed == 0;
        }
    }

    /**
     * Loads the default pair and the extra ones. A pair that cannot be used is a {@link ConfigException}: the
     * default names {@code FWD_TLS_CERT_FILE} or {@code FWD_TLS_KEY_FILE}, an extra one {@code FWD_TLS_CERTS}.
     */
    public static CertificateStore load(CertPair defaultPair, List<CertPair> extra, TlsOptions options) {
        requireNonNull(defaultPair, "defaultPair");
        requireNonNull(extra, "extra");
        requireNonNull(options, "options");
        List<CertPair> pairs = new ArrayList<>();
        pairs.add(defaultPair);
        pairs.addAll(extra);
        List<Served> served = new ArrayList<>();
        served.add(new Served(defaultPair, KeyMaterial.load(defaultPair.cert(), defaultPair.key()), options));
        for (CertPair pair : extra) {
            served.add(new Served(pair, loadExtra(pair), options));
        }
        return new CertificateStore(List.copyOf(pairs), served, options);
    }

    /** KeyMaterial names the default pair's variables; an extra pair's error must name the variable that lists it. */
    private static KeyMaterial loadExtra(CertPair pair) {
        try {
            return KeyMaterial.load(pair.cert(), pair.key());
        } catch (ConfigException e) {
            String what = e.variable().equals(KeyMaterial.CERT_VARIABLE) ? "certificate " : "key ";
            String reason = e.getMessage().substring(e.variable().length() + 1);
            throw new ConfigException(EXTRA_VARIABLE, pair.toString(), what + reason);
        }
    }

    /**
     * The server context for a handshake naming {@code serverName} (null or empty: none) offering
     * {@code alpnProtocols}: from the pair with a DNS name equal to it, else one with a wildcard covering it, else
     * the default pair. Builds the context only the first time a list is seen; {@link #prepare} avoids even that.
     */
    public SslContext context(String serverName, List<String> alpnProtocols) {
        requireNonNull(alpnProtocols, "alpnProtocols");
        Served served = snapshot.select(serverName);
        SslContext context = served.contexts.get().get(alpnProtocols);
        if (context != null) {
            return context;
        }
        alpnLists.add(List.copyOf(alpnProtocols));
        return served.context(alpnProtocols);
    }

    /**
     * Builds the contexts for {@code alpnProtocols} for every pair now and after every reload, so a bad list fails
     * here and handshakes never build one; call it at start for each listener's list.
     */
    public void prepare(List<String> alpnProtocols) {
        List<String> alpn = List.copyOf(requireNonNull(alpnProtocols, "alpnProtocols"));
        synchronized (reloadLock) {
            for (Served served : snapshot.served()) {
                served.context(alpn);
            }
            alpnLists.add(alpn);
        }
    }

    /** The certificate and key a handshake for {@code serverName} gets now. */
    public KeyMaterial material(String serverName) {
        return snapshot.select(serverName).material;
    }

    /** Successful reloads that put new files in service since the start. */
    public long reloads() {
        return reloads.get();
    }

    /** Reloads that kept the old certificate because the new files could not be used. */
    public long reloadFailures() {
        return reloadFailures.get();
    }

    /** The notAfter, in seconds since the epoch, of the leaf certificate in service that expires first. */
    public long earliestExpiryEpochSeconds() {
        return snapshot.earliestExpiry();
    }

    /** Reloads every pair now, as on SIGHUP; pairs whose files cannot be used keep their certificate. */
    public ReloadSummary reload() {
        int replaced = 0;
        int unchanged = 0;
        int failed = 0;
        for (int i = 0; i < pairs.size(); i++) {
            switch (reloadPair(i)) {
                case REPLACED -> replaced++;
                case UNCHANGED -> unchanged++;
                case FAILED -> failed++;
            }
        }
        ReloadSummary summary = new ReloadSummary(replaced, unchanged, failed);
        log.info("certificates reloaded: replaced={}, unchanged={}, failed={}", replaced, unchanged, failed);
        return summary;
    }

    /**
     * Starts watching the folders of all certificate and key files on a daemon thread named "cert-watch": a file
     * written in place, moved into place or swapped in by a {@code ..data} symlink (Kubernetes secrets) reloads its
     * pair about {@link #DEBOUNCE} after the last change.
     *
     * @throws UncheckedIOException when a folder cannot be watched
     */
    public void start() {
        synchronized (reloadLock) {
            if (closed || watcher != null) {
                throw new IllegalStateException(closed ? "closed" : "already started");
            }
            Map<Path, Set<Integer>> pairsByFile = new HashMap<>();
            Map<Path, Set<Integer>> pairsByFolder = new HashMap<>();
            for (int i = 0; i < pairs.size(); i++) {
                for (Path file : List.of(pairs.get(i).cert(), pairs.get(i).key())) {
                    Path absolute = file.toAbsolutePath().normalize();
                    pairsByFile.computeIfAbsent(absolute, f -> new TreeSet<>()).add(i);
                    pairsByFolder.computeIfAbsent(absolute.getParent(), f -> new TreeSet<>()).add(i);
                }
            }
            try {
                watchService = FileSystems.getDefault().newWatchService();
                for (Path folder : pairsByFolder.keySet()) {
                    folder.register(watchService, ENTRY_CREATE, ENTRY_MODIFY);
                }
            } catch (IOException e) {
                closeWatchService();
                throw new UncheckedIOException("cannot watch the certificate folders " + pairsByFolder.keySet(), e);
            }
            WatchService service = watchService;
            watcher = Thread.ofPlatform().name("cert-watch").daemon()
                    .unstarted(() -> watch(service, pairsByFile, pairsByFolder));
            watcher.start();
            log.info("watching certificate files for changes: folders={}", pairsByFolder.keySet());
        }
    }

    /** Stops the watcher thread and frees the contexts; engines made from them before stay usable. */
    @Override
    public void close() {
        Thread thread;
        synchronized (reloadLock) {
            if (!closed) {
                snapshot.served().forEach(Served::release);
            }
            closed = true;
            closeWatchService();
            thread = watcher;
        }
        if (thread != null && thread != Thread.currentThread()) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    Thread watcher() {
        synchronized (reloadLock) {
            return watcher;
        }
    }

    private void closeWatchService() {
        if (watchService != null) {
            try {
                watchService.close();
            } catch (IOException e) {
                log.debug("closing the certificate watch service failed: {}", e.toString());
            }
        }
    }

    /** Gathers changed pairs until no event came for DEBOUNCE (or MAX_DELAY passed), then reloads them. */
    private void watch(WatchService service, Map<Path, Set<Integer>> pairsByFile,
            Map<Path, Set<Integer>> pairsByFolder) {
        Set<Integer> dirty = new TreeSet<>();
        long firstChange = 0;
        long lastChange = 0;
        try {
            while (!closed) {
                WatchKey key;
                if (dirty.isEmpty()) {
                    key = service.take();
                } else {
                    long now = System.nanoTime();
                    long due = Math.min(lastChange + DEBOUNCE.toNanos(), firstChange + MAX_DELAY.toNanos());
                    key = due <= now ? null : service.poll(due - now, TimeUnit.NANOSECONDS);
                }
                if (key == null) {
                    for (int index : dirty) {
                        reloadPair(index);
                    }
                    dirty.clear();
                    continue;
                }
                Path folder = (Path) key.watchable();
                for (WatchEvent<?> event : key.pollEvents()) {
                    Set<Integer> hit = affected(event, folder, pairsByFile, pairsByFolder);
                    if (!hit.isEmpty()) {
                        long now = System.nanoTime();
                        if (dirty.isEmpty()) {
                            firstChange = now;
                        }
                        dirty.addAll(hit);
                        lastChange = now;
                    }
                }
                if (!key.reset()) {
                    log.error("certificate folder can no longer be watched; rotations there need a reload:"
                            + " folder={}", folder);
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // close() ends the loop by closing the service.
        } finally {
            log.debug("certificate watcher stopped");
        }
    }

    /**
     * The pairs an event concerns: those naming the file, or every pair of the folder on overflow and on a
     * {@code ..}-prefixed name, which is how Kubernetes swaps a secret's files behind their symlinks.
     */
    private static Set<Integer> affected(WatchEvent<?> event, Path folder, Map<Path, Set<Integer>> pairsByFile,
            Map<Path, Set<Integer>> pairsByFolder) {
        if (event.kind() == OVERFLOW || !(event.context() instanceof Path name)) {
            return pairsByFolder.getOrDefault(folder, Set.of());
        }
        Set<Integer> byFile = pairsByFile.get(folder.resolve(name));
        if (byFile != null) {
            return byFile;
        }
        return name.toString().startsWith("..") ? pairsByFolder.getOrDefault(folder, Set.of()) : Set.of();
    }

    private enum Outcome { REPLACED, UNCHANGED, FAILED }

    /** Loads one pair's files and, when they changed and are usable, publishes a snapshot serving them. */
    private Outcome reloadPair(int index) {
        CertPair pair = pairs.get(index);
        synchronized (reloadLock) {
            Served next;
            try {
                KeyMaterial material = KeyMaterial.load(pair.cert(), pair.key());
                Served current = snapshot.served().get(index);
                if (sameMaterial(current.material, material)) {
                    return Outcome.UNCHANGED;
                }
                next = new Served(pair, material, options);
                for (List<String> alpn : alpnLists) {
                    next.context(alpn);
                }
            } catch (RuntimeException e) {
                reloadFailures.incrementAndGet();
                log.error("certificate reload failed, the previous certificate stays in service: certFile={},"
                        + " keyFile={}, reason={}", pair.cert(), pair.key(), e.getMessage());
                return Outcome.FAILED;
            }
            List<Served> served = new ArrayList<>(snapshot.served());
            Served replaced = served.set(index, next);
            snapshot = Snapshot.of(served);
            replaced.retire();
            reloads.incrementAndGet();
            X509Certificate leaf = next.material.leaf();
            log.info("certificate reloaded: certFile={}, keyFile={}, subject={}, names={}, notAfter={}", pair.cert(),
                    pair.key(), leaf.getSubjectX500Principal().getName(), WildcardCoverage.dnsNames(leaf),
                    leaf.getNotAfter().toInstant());
            return Outcome.REPLACED;
        }
    }

    private static boolean sameMaterial(KeyMaterial a, KeyMaterial b) {
        return a.chain().equals(b.chain()) && Arrays.equals(a.key().getEncoded(), b.key().getEncoded());
    }

    /** Lower case without the trailing dot of a fully qualified name, as names compare in DNS (RFC 4343). */
    static String normalise(String name) {
        String trimmed = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        return trimmed.toLowerCase(Locale.ROOT);
    }

    /** One pair's material in service and its contexts per ALPN list, published copy-on-write. */
    private static final class Served {
        final CertPair pair;
        final KeyMaterial material;
        final TlsOptions options;
        final AtomicReference<Map<List<String>, SslContext>> contexts = new AtomicReference<>(Map.of());

        Served(CertPair pair, KeyMaterial material, TlsOptions options) {
            this.pair = pair;
            this.material = material;
            this.options = options;
        }

        /** Two threads missing at once both build; one context wins and the other is dropped, unused. */
        SslContext context(List<String> alpnProtocols) {
            List<String> alpn = List.copyOf(alpnProtocols);
            SslContext built = null;
            while (true) {
                Map<List<String>, SslContext> current = contexts.get();
                SslContext existing = current.get(alpn);
                if (existing != null) {
                    if (built != null) {
                        ServerTls.release(built); // lost the race, never handed out
                    }
                    return existing;
                }
                if (built == null) {
                    built = ServerTls.serverContext(material, alpn, options);
                }
                Map<List<String>, SslContext> next = new HashMap<>(current);
                next.put(alpn, built);
                if (contexts.compareAndSet(current, Map.copyOf(next))) {
                    return built;
                }
            }
        }

        /** This pair was replaced: its contexts are freed once no handshake can still pick them. */
        void retire() {
            contexts.get().values().forEach(ServerTls::retire);
        }

        void release() {
            contexts.get().values().forEach(ServerTls::release);
        }

        @Override
        public String toString() {
            return pair + " " + material;
        }
    }

    /**
     * The pairs in service with their names indexed, replaced whole on every reload. A name listed by two pairs
     * goes to the first, the default pair coming first.
     */
    private record Snapshot(List<Served> served, Map<String, Served> exact, Map<String, Served> wildcards,
            long earliestExpiry) {
        static Snapshot of(List<Served> served) {
            Map<String, Served> exact = new HashMap<>();
            Map<String, Served> wildcards = new HashMap<>();
            long earliest = Long.MAX_VALUE;
            for (Served entry : served) {
                X509Certificate leaf = entry.material.leaf();
                earliest = Math.min(earliest, leaf.getNotAfter().toInstant().getEpochSecond());
                for (String dnsName : new LinkedHashSet<>(WildcardCoverage.dnsNames(leaf))) {
                    String name = normalise(dnsName);
                    if (name.startsWith("*.") && name.indexOf('*', 1) < 0 && name.length() > 2) {
                        wildcards.putIfAbsent(name.substring(2), entry);
                    } else if (!name.isEmpty() && name.indexOf('*') < 0) {
                        exact.putIfAbsent(name, entry);
                    }
                }
            }
            return new Snapshot(List.copyOf(served), Map.copyOf(exact), Map.copyOf(wildcards), earliest);
        }

        /** Exact name, then a wildcard for exactly the first label (RFC 6125 section 6.4.3), then the default. */
        Served select(String serverName) {
            if (serverName == null || serverName.isEmpty() || served.size() == 1) {
                return served.getFirst();
            }
            String name = normalise(serverName);
            Served match = exact.get(name);
            if (match != null) {
                return match;
            }
            int dot = name.indexOf('.');
            if (dot > 0) {
                match = wildcards.get(name.substring(dot + 1));
                if (match != null) {
                    return match;
                }
            }
            return served.getFirst();
        }
    }
}

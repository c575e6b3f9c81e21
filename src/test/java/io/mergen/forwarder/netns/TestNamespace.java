package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Creates a throwaway network namespace with {@code lo} up and a guest address on it, and deletes it on close.
 *
 * <p>Rules for tests (see the helpers' common rules): call {@link #assumeRoot()} first; add the host's
 * {@link UnreachableRoute} for the guest range before creating a namespace with an address in it; close both in
 * {@code finally} or {@code @AfterEach}/{@code @AfterAll}.
 *
 * <pre>{@code
 * try (UnreachableRoute route = UnreachableRoute.add("10.213.3.0/24");
 *      TestNamespace ns = TestNamespace.create("mfwd-t3", "10.213.3.2/32")) {
 *     ServerSocketChannel server = ns.listen(0, 50);   // bound to 10.213.3.2 inside the namespace
 *     ...
 * }
 * }</pre>
 */
public final class TestNamespace implements AutoCloseable {
    /** Where {@code ip netns add} puts namespace files. */
    public static final Path NETNS_ROOT = Path.of("/run/netns");

    private final String name;
    private final InetAddress guestAddress;
    private final NetworkNamespaces namespaces;
    private final AtomicBoolean closed = new AtomicBoolean();

    private TestNamespace(String name, InetAddress guestAddress, NetworkNamespaces namespaces) {
        this.name = name;
        this.guestAddress = guestAddress;
        this.namespaces = namespaces;
    }

    /**
     * Skips the calling test unless it runs as root with {@code ip} available; with {@code CI=true} in the
     * environment the test fails instead, so CI cannot pass by skipping.
     */
    public static void assumeRoot() {
        boolean root = isRoot();
        boolean ip = Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/sbin/ip"))
                || Files.isExecutable(Path.of("/usr/bin/ip"));
        String missing = !root ? "root (to create network namespaces)" : !ip ? "the ip command (iproute2)" : null;
        if (missing == null) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("this test needs " + missing + "; CI=true makes that a failure instead of a skip");
        }
        assumeTrue(false, "skipped: this test needs " + missing);
    }

    private static boolean isRoot() {
        try {
            // /proc/self belongs to the process's effective uid.
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * Creates namespace {@code <prefix>-<random hex>} with {@code lo} up and {@code guestCidr} (e.g.
     * {@code 10.213.3.2/32}) on {@code lo}; on any failure deletes what it created and throws.
     */
    public static TestNamespace create(String prefix, String guestCidr) {
        requireNonNull(prefix, "prefix");
        requireNonNull(guestCidr, "guestCidr");
        String name = prefix + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        InetAddress guest = ipLiteral(guestCidr.substring(0, guestCidr.indexOf('/')));
        run("ip", "netns", "add", name);
        try {
            run("ip", "-n", name, "link", "set", "lo", "up");
            run("ip", "-n", name, "addr", "add", guestCidr, "dev", "lo");
            return new TestNamespace(name, guest, new NetworkNamespaces(LinuxSyscalls.load(), List.of(NETNS_ROOT)));
        } catch (RuntimeException | SyscallException e) {
            try {
                run("ip", "netns", "del", name);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e);
        }
    }

    private static InetAddress ipLiteral(String ip) {
        try {
            // Only IP literals reach here, so no name lookup happens.
            return InetAddress.ofLiteral(ip);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("guestCidr: " + ip + " (expected: an IP literal with /prefix)", e);
        }
    }

    public String name() {
        return name;
    }

    /** {@code /run/netns/<name>}. */
    public Path path() {
        return NETNS_ROOT.resolve(name);
    }

    public InetAddress guestAddress() {
        return guestAddress;
    }

    /** Runs {@code ip -n <name> args...} (e.g. {@code route add blackhole 10.213.3.99/32}) and returns its output. */
    public String ip(String... args) {
        List<String> command = new ArrayList<>(List.of("ip", "-n", name));
        command.addAll(List.of(args));
        return run(command.toArray(String[]::new));
    }

    /** Runs a command inside the namespace ({@code ip netns exec}) and returns its output. */
    public String exec(String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        return run(full.toArray(String[]::new));
    }

    /**
     * Runs {@code action} on a fresh platform thread switched into this namespace and returns its result; sockets
     * it creates stay in the namespace.
     */
    public <T> T inside(Callable<T> action) {
        requireNonNull(action, "action");
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = Thread.ofPlatform().name("inside-" + name).start(() -> {
            try {
                result.set(namespaces.inside(name, unchecked(action)));
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        try {
            if (!thread.join(Duration.ofSeconds(30))) {
                throw new IllegalStateException("action inside " + name + " still running after 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (t != null) {
            throw new IllegalStateException("action inside " + name + " failed", t);
        }
        return result.get();
    }

    private static <T> Supplier<T> unchecked(Callable<T> action) {
        return () -> {
            try {
                return action.call();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    /** A blocking server socket bound inside the namespace to the guest address ({@code port} 0: any free port). */
    public ServerSocketChannel listen(int port, int backlog) {
        return inside(() -> {
            ServerSocketChannel server = ServerSocketChannel.open();
            try {
                server.bind(new InetSocketAddress(guestAddress, port), backlog);
                return server;
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            }
        });
    }

    /** A port on the guest address with no listener (bound once inside the namespace, then released). */
    public int freePort() {
        try (ServerSocketChannel server = listen(0, 1)) {
            return ((InetSocketAddress) server.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Deletes the namespace (a second call does nothing); sockets still open inside it keep it alive in the kernel
     * until they close.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            namespaces.close();
        } catch (SyscallException e) {
            throw new IllegalStateException(e);
        } finally {
            run("ip", "netns", "del", name);
        }
    }

    /** The inode of the calling thread's network namespace, from {@code /proc/thread-self/ns/net}. */
    public static long currentThreadNetnsInode() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString(); // "net:[4026531840]"
            return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The inode of this namespace, the one a thread inside it sees in {@code /proc/thread-self/ns/net}. */
    public long inode() {
        try {
            return (Long) Files.getAttribute(path(), "unix:ino");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a host command, failing with its output when it exits non-zero or takes over 30 s. */
    public static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + ": still running after 30 s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + ": exit " + process.exitValue()
                        + ": " + output.strip());
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

package io.mergen.forwarder.netns;

import static io.mergen.forwarder.Bench.run;
import static io.mergen.forwarder.netns.LinuxSyscalls.CLONE_NEWNET;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_CLOEXEC;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_NONBLOCK;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_RDONLY;

import io.mergen.forwarder.Bench;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Setting up the guest side of a connection (needs root): entering a VM's network namespace and coming back, the
 * socket made in there, and the whole dial through {@link LinuxNamespaceDialer} to a listener inside the namespace.
 *
 * <p>The trial creates one namespace, {@code $MFWD_JMH_NETNS_PREFIX-<random>} (bench/jmh/run sets the prefix so it
 * can remove a namespace left by a killed fork), with 10.213.34.2 on its {@code lo} and a blocking acceptor behind
 * it, plus an unreachable route for 10.213.34.0/24 on the host; all of it goes in {@code @TearDown}, and at once when
 * the set-up fails half-way. Traffic stays on loopback inside the namespace and on the host's 127.0.0.1.
 *
 * <ul>
 *   <li>{@link #setnsRoundTrip}: {@code NetworkNamespaces.inside} with nothing inside: open the namespace file,
 *       setns() in, setns() back, close; {@link #syscallsOpenClose} and {@link #syscallsSetnsThereAndBack} split it,
 *       and {@link #setnsRawThereAndBack} is the same two setns() calls through a bare downcall (no arena, no errno
 *       capture), for the share of the FFM wrapper.</li>
 *   <li>{@link #socketInNamespace} against {@link #socketOnHost}: the socket() the dialer makes in there.</li>
 *   <li>{@link #dialInNamespace} against {@link #dialOnHost}: the dialer's whole work on its event loop (socket in
 *       the namespace, register, TCP connect on loopback), then a close with RST (SO_LINGER 0) so hundreds of
 *       thousands of connections leave no TIME_WAIT behind; {@value #CHAIN} dials in a row per invocation, so the
 *       hand-over to the event loop and back is spread over them.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DialSetupBenchmark {
    private static final String GUEST_RANGE = "10.213.34.0/24";
    private static final String GUEST_IP = "10.213.34.2";
    private static final Path NETNS_ROOT = Path.of("/run/netns");
    private static final Duration DIAL_TIMEOUT = Duration.ofSeconds(5);
    private static final int CHAIN = 50;
    private static final ChannelHandler NOOP = new Noop();
    private static final MethodHandle RAW_SETNS = rawSetns();

    private String netns;
    private boolean routeAdded;
    private boolean netnsAdded;
    private LinuxSyscalls syscalls;
    private NetworkNamespaces namespaces;
    private int hostFd = -1;
    private int vmFd = -1;
    private Transport transport;
    private EventLoopGroup group;
    private EventLoop loop;
    private LinuxNamespaceDialer dialer;
    private Acceptor guestServer;
    private Acceptor hostServer;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        if (!isRoot()) {
            throw new IllegalStateException("DialSetupBenchmark needs root (it creates a network namespace): run "
                    + "bench/jmh/run as root, or leave it out with -e DialSetup");
        }
        Bench.quietLogs();
        String prefix = System.getenv().getOrDefault("MFWD_JMH_NETNS_PREFIX", "mfwd-jmh");
        netns = prefix + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        try {
            routeAdded = addUnreachableRoute();
            run("ip", "netns", "add", netns);
            netnsAdded = true;
            run("ip", "-n", netns, "link", "set", "lo", "up");
            run("ip", "-n", netns, "addr", "add", GUEST_IP + "/32", "dev", "lo");

            syscalls = LinuxSyscalls.load();
            namespaces = new NetworkNamespaces(syscalls, List.of(NETNS_ROOT));
            hostFd = syscalls.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
            vmFd = syscalls.open(NETNS_ROOT.resolve(netns).toString(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
            transport = Transport.epoll();
            group = transport.newEventLoopGroup(1, "jmh-dial");
            loop = group.next();
            dialer = new LinuxNamespaceDialer(new NetworkNamespaces(syscalls, List.of(NETNS_ROOT)), transport);
            guestServer = new Acceptor(namespaces.inside(netns, () -> Acceptor.bind(GUEST_IP)));
            hostServer = new Acceptor(Acceptor.bind("127.0.0.1"));
            verify();
        } catch (Exception | Error e) {
            try {
                tearDown();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** The dials must reach the listener in the namespace (and only that one), or the figures mean nothing. */
    private void verify() throws Exception {
        chain(true);
        chain(false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while ((guestServer.accepted.get() < CHAIN || hostServer.accepted.get() < CHAIN)
                && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        if (guestServer.accepted.get() != CHAIN || hostServer.accepted.get() != CHAIN) {
            throw new IllegalStateException("expected " + CHAIN + " connections on each listener, got "
                    + guestServer.accepted.get() + " in the namespace and " + hostServer.accepted.get() + " on the host");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        List<RuntimeException> failures = new ArrayList<>();
        attempt(failures, () -> {
            if (dialer != null) {
                dialer.close();
            }
        });
        attempt(failures, () -> {
            if (group != null) {
                group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            }
        });
        attempt(failures, () -> {
            if (guestServer != null) {
                guestServer.close();
            }
        });
        attempt(failures, () -> {
            if (hostServer != null) {
                hostServer.close();
            }
        });
        attempt(failures, () -> closeFd(hostFd));
        attempt(failures, () -> closeFd(vmFd));
        attempt(failures, () -> {
            if (namespaces != null) {
                closeQuietly(namespaces);
            }
        });
        attempt(failures, () -> {
            if (netnsAdded) {
                run("ip", "netns", "del", netns);
                netnsAdded = false;
            }
        });
        attempt(failures, () -> {
            if (routeAdded) {
                run("ip", "route", "del", "unreachable", GUEST_RANGE);
                routeAdded = false;
            }
        });
        if (!failures.isEmpty()) {
            RuntimeException first = failures.getFirst();
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    @Benchmark
    public Boolean setnsRoundTrip() throws DialException {
        return namespaces.inside(netns, () -> Boolean.TRUE);
    }

    @Benchmark
    public int syscallsOpenClose() throws SyscallException {
        int fd = syscalls.open(NETNS_ROOT.resolve(netns).toString(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        syscalls.close(fd);
        return fd;
    }

    @Benchmark
    public void syscallsSetnsThereAndBack() throws SyscallException {
        syscalls.setns(vmFd, CLONE_NEWNET);
        syscalls.setns(hostFd, CLONE_NEWNET);
    }

    @Benchmark
    public int setnsRawThereAndBack() throws Throwable {
        int there = (int) RAW_SETNS.invokeExact(vmFd, CLONE_NEWNET);
        int back = (int) RAW_SETNS.invokeExact(hostFd, CLONE_NEWNET);
        if (there != 0 || back != 0) {
            throw new IllegalStateException("setns failed: " + there + ", " + back);
        }
        return there + back;
    }

    @SuppressWarnings("restricted") // the forks run with --enable-native-access=ALL-UNNAMED
    private static MethodHandle rawSetns() {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find("setns").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }

    @Benchmark
    public void socketInNamespace() throws DialException {
        Channel channel = namespaces.inside(netns, transport::newSocketChannel);
        channel.unsafe().closeForcibly();
    }

    @Benchmark
    public void socketOnHost() {
        Channel channel = transport.newSocketChannel();
        channel.unsafe().closeForcibly();
    }

    @Benchmark
    @OperationsPerInvocation(CHAIN)
    public int dialInNamespace() throws Exception {
        return chain(true);
    }

    @Benchmark
    @OperationsPerInvocation(CHAIN)
    public int dialOnHost() throws Exception {
        return chain(false);
    }

    /** {@value #CHAIN} dials one after another on the event loop, each closed before the next starts. */
    private int chain(boolean inNamespace) throws Exception {
        Promise<Integer> done = loop.newPromise();
        loop.execute(() -> next(inNamespace, CHAIN, done));
        return done.get(30, TimeUnit.SECONDS);
    }

    private void next(boolean inNamespace, int left, Promise<Integer> done) {
        if (left == 0) {
            done.trySuccess(CHAIN);
            return;
        }
        Future<Channel> dialed = inNamespace
                ? dialer.dial(loop, netns, new InetSocketAddress(guestServer.address, guestServer.port), DIAL_TIMEOUT,
                        NOOP)
                : dialOnHostLoopback();
        dialed.addListener(f -> {
            if (!f.isSuccess()) {
                done.tryFailure(f.cause());
                return;
            }
            Channel channel = (Channel) f.getNow();
            channel.config().setOption(ChannelOption.SO_LINGER, 0);
            channel.close().addListener(closed -> next(inNamespace, left - 1, done));
        });
    }

    /** What {@link LinuxNamespaceDialer#dial} does, step for step, without the namespace. */
    private Future<Channel> dialOnHostLoopback() {
        Promise<Channel> promise = loop.newPromise();
        Channel channel = transport.newSocketChannel();
        channel.config().setAutoRead(false);
        channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        channel.config().setConnectTimeoutMillis((int) DIAL_TIMEOUT.toMillis());
        channel.pipeline().addLast(NOOP);
        loop.register(channel).addListener((ChannelFuture registered) -> {
            if (!registered.isSuccess()) {
                channel.unsafe().closeForcibly();
                promise.tryFailure(registered.cause());
                return;
            }
            channel.connect(new InetSocketAddress(hostServer.address, hostServer.port))
                    .addListener((ChannelFuture connected) -> {
                        if (connected.isSuccess()) {
                            promise.trySuccess(channel);
                        } else {
                            channel.close();
                            promise.tryFailure(connected.cause());
                        }
                    });
        });
        return promise;
    }

    private static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Adds the host's unreachable route for the guest range unless one is there already (then it is not ours). */
    private static boolean addUnreachableRoute() {
        if (!run("ip", "route", "show", GUEST_RANGE).isBlank()) {
            return false;
        }
        run("ip", "route", "add", "unreachable", GUEST_RANGE);
        return true;
    }

    private void closeFd(int fd) {
        if (fd >= 0) {
            try {
                syscalls.close(fd);
            } catch (SyscallException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static void closeQuietly(NetworkNamespaces namespaces) {
        try {
            namespaces.close();
        } catch (SyscallException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void attempt(List<RuntimeException> failures, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }

    /** A blocking listener that accepts and closes every connection on a thread of its own. */
    private static final class Acceptor implements AutoCloseable {
        private static final int BACKLOG = 4096;

        final InetAddress address;
        final int port;
        final AtomicLong accepted = new AtomicLong();
        private final ServerSocketChannel server;
        private final Thread thread;

        Acceptor(ServerSocketChannel server) {
            this.server = server;
            try {
                InetSocketAddress local = (InetSocketAddress) server.getLocalAddress();
                this.address = local.getAddress();
                this.port = local.getPort();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            this.thread = Thread.ofPlatform().name("jmh-acceptor-" + port).daemon(true).start(this::acceptAll);
        }

        /** A listener on {@code ip}, port chosen by the kernel, in the calling thread's namespace. */
        static ServerSocketChannel bind(String ip) {
            try {
                ServerSocketChannel server = ServerSocketChannel.open();
                server.bind(new InetSocketAddress(InetAddress.ofLiteral(ip), 0), BACKLOG);
                return server;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void acceptAll() {
            while (server.isOpen()) {
                try {
                    SocketChannel connection = server.accept();
                    accepted.incrementAndGet();
                    connection.close();
                } catch (IOException e) {
                    // Closed by close(), or a connection reset before it was accepted: go on or end with the loop.
                }
            }
        }

        @Override
        public void close() {
            try {
                server.close();
                thread.join(Duration.ofSeconds(5));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @ChannelHandler.Sharable
    private static final class Noop extends ChannelInboundHandlerAdapter {
    }
}

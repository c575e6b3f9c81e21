package io.mergen.forwarder.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.mergen.forwarder.TrackingAllocator;
import io.mergen.forwarder.config.DomainRule;
import io.mergen.forwarder.config.Limits;
import io.mergen.forwarder.config.ListenerSpec;
import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.mergen.forwarder.netns.DialException;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.protocol.CancelKeys;
import io.mergen.forwarder.protocol.ListenerProtocol;
import io.mergen.forwarder.protocol.PostgresOpening;
import io.mergen.forwarder.resolver.Route;
import io.mergen.forwarder.resolver.VmResolver;
import io.mergen.forwarder.tls.KeyMaterial;
import io.mergen.forwarder.tls.ServerTls;
import io.mergen.forwarder.tls.TestCertificates;
import io.mergen.forwarder.tls.TlsOptions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * Runs client bytes through the real pipeline of a client connection ({@link ForwarderInitializer}) on an
 * EmbeddedChannel, with a real resolver (one VM, {@code app1}), real TLS contexts and a dialer that dials nothing,
 * and reports what became of the connection.
 */
final class SniPipeline implements AutoCloseable {
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** Far above a normal run (milliseconds), so only a runaway loop reaches it. */
    private static final Duration RUN_LIMIT = Duration.ofSeconds(20);
    static final int MAX_SEGMENTS = 1_000;
    private static final List<String> QUIET_LOGGERS = List.of(ConnectionLog.LOGGER_NAME, "io.mergen.forwarder");

    /** The listeners a ClientHello can reach, each with its own way of refusing. */
    enum Listener {
        HTTPS(":443=443"), HTTPS_H2(":8443=443/tls+h2"), POSTGRES(":5432=5432"), KAFKA(":9092=9092"),
        TLS_STREAM(":8883=8883");

        final ListenerSpec spec;

        Listener(String spec) {
            this.spec = ListenerSpec.parse(spec);
        }

        boolean refusesBeforeHandshake() {
            return ListenerProtocol.of(spec).refusesBeforeHandshake();
        }
    }

    private final Path dir;
    private final VmResolver resolver;
    private final Map<Listener, ListenerContext> contexts = new EnumMap<>(Listener.class);
    private final Map<String, Level> quietened = new HashMap<>();
    private ExecutorService worker = newWorker();

    private SniPipeline() throws IOException {
        dir = Files.createTempDirectory("sni-fuzz");
        TestCertificates.Issued certs = TestCertificates.issue(dir.resolve("certs"), "*.localhost", "localhost");
        KeyMaterial material = KeyMaterial.load(certs.certFile(), certs.keyFile());
        Path vm = Files.createDirectories(dir.resolve("vm.d/084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f"));
        Files.writeString(vm.resolve("meta.json"), """
                {"id": "084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f", "guestIP": "10.213.9.2", "netns": "mergen-fuzz",
                 "tags": {"app": "app1"}}
                """);
        resolver = new VmResolver(dir.resolve("vm.d"), Duration.ZERO, new DomainRule("", "localhost"));
        resolver.reload();
        assertThat(resolver.route("app1.localhost")).isInstanceOf(Route.Found.class);

        NamespaceDialer noDialing = (loop, netns, target, timeout, handler) ->
                loop.newFailedFuture(new DialException("the fuzz test dials nothing"));
        for (Listener listener : Listener.values()) {
            SslContext tls = ServerTls.serverContext(material, ListenerProtocol.of(listener.spec).alpn(listener.spec),
                    TlsOptions.defaults());
            contexts.put(listener, new ListenerContext(listener.spec, "localhost", resolver, noDialing, (name, routed, alloc) -> tls.newHandler(alloc),
                    Duration.ofSeconds(1), HANDSHAKE_TIMEOUT, Duration.ofSeconds(60), new CancelKeys(),
                    new ConnectionLimits(new Limits(0, 0, 0, 65536)), new ForwarderMetrics()));
        }
        // One line per connection and per refusal would bury the test output.
        for (String name : QUIET_LOGGERS) {
            Logger logger = (Logger) LoggerFactory.getLogger(name);
            quietened.put(name, logger.getLevel());
            logger.setLevel(Level.WARN);
        }
    }

    static SniPipeline open() throws IOException {
        return new SniPipeline();
    }

    /** The route the resolver gives {@code serverName}, as the pipeline should have decided it. */
    Route route(String serverName) {
        return resolver.route(serverName);
    }

    /**
     * Delivers {@code bytes} to a new connection on {@code listener} in segments of the given sizes (used in turn,
     * until the connection closes; after {@value #MAX_SEGMENTS} segments the rest comes in one, which bounds the cost
     * of a big hello cut small under the PARANOID leak detector), then lets the handshake timeout pass. Runs on a
     * worker thread, so a runaway loop fails the caller instead of hanging the build.
     */
    Run run(Listener listener, byte[] bytes, List<Integer> segments) {
        Future<Run> run = worker.submit(() -> Run.of(contexts.get(listener), bytes, segments));
        try {
            return run.get(RUN_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // The stuck thread cannot be stopped; leave it and give later runs a fresh one.
            worker.shutdownNow();
            worker = newWorker();
            throw new AssertionError("no result within " + RUN_LIMIT + " for " + bytes.length + " bytes: "
                    + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 64)) + "...", e);
        } catch (ExecutionException e) {
            throw new AssertionError(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(Thread.ofPlatform().name("sni-pipeline").daemon(true).factory());
    }

    @Override
    public void close() throws IOException {
        worker.shutdownNow();
        quietened.forEach((name, level) -> ((Logger) LoggerFactory.getLogger(name)).setLevel(level));
        resolver.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Where a connection stands once the client's bytes are in. */
    enum State { CLOSED, TLS, WAITING, UNEXPECTED }

    /**
     * One connection through the real pipeline.
     *
     * @param firstReply the kind of the first record written to the client ("handshake 02" for a ServerHello,
     *                   "alert" with level and description), or "none"
     * @param errors     Errors (other than assertion failures) caught in the pipeline or thrown out of it
     * @param thrown     exceptions thrown out of the pipeline to EmbeddedChannel, which the design tolerates
     */
    record Run(State state, String serverName, List<Route> routes, int sniCompletions, Outcome outcome,
            String firstReply, byte[] replies, boolean closedAfterTimeout, List<String> errors, List<String> thrown,
            List<String> unreleased) {

        /** What must not depend on how the bytes were segmented. */
        String summary() {
            return state + " " + serverName + " " + routes + " " + outcome + " " + firstReply;
        }

        private static Run of(ListenerContext listener, byte[] bytes, List<Integer> segments) throws Exception {
            TrackingAllocator alloc = new TrackingAllocator();
            List<Throwable> seen = new ArrayList<>();
            List<Throwable> escaped = new ArrayList<>();
            List<Route> routes = new ArrayList<>();
            int[] sniCompletions = new int[1];

            EmbeddedChannel ch = new EmbeddedChannel(false, false);
            ch.config().setAllocator(alloc);
            ch.pipeline().addLast(new ForwarderInitializer(listener, new ActiveConnections(), new ConnectionLog()));
            ch.register();
            ch.freezeTime();
            ch.pipeline().addBefore("connector", "probe", new ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt instanceof RouteDecided decided) {
                        routes.add(decided.route());
                    } else if (evt instanceof SniCompletionEvent) {
                        sniCompletions[0]++;
                    }
                    ctx.fireUserEventTriggered(evt);
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    seen.add(cause);
                    ctx.fireExceptionCaught(cause);
                }
            });

            int at = 0;
            for (int i = 0; at < bytes.length && ch.isOpen(); i++) {
                int size = i < MAX_SEGMENTS - 1 ? Math.min(segments.get(i % segments.size()), bytes.length - at)
                        : bytes.length - at;
                ByteBuf segment = alloc.heapBuffer(size).writeBytes(bytes, at, size);
                at += size;
                attempt(escaped, () -> ch.writeInbound(segment));
            }
            State state = state(ch);
            ByteArrayOutputStream replies = new ByteArrayOutputStream();
            drain(ch, replies);
            ConnectionFacts facts = ConnectionFacts.of(ch);
            String serverName = facts.serverName();
            Outcome outcome = facts.outcome();

            ch.advanceTimeBy(HANDSHAKE_TIMEOUT.toMillis() + 1, TimeUnit.MILLISECONDS);
            attempt(escaped, ch::runScheduledPendingTasks);
            attempt(escaped, ch::runPendingTasks);
            boolean closed = !ch.isOpen();
            drain(ch, new ByteArrayOutputStream());
            attempt(escaped, ch::finishAndReleaseAll);

            List<String> unreleased = alloc.unreleased();
            List<String> errors = Stream.concat(seen.stream(), escaped.stream()).filter(Run::isError)
                    .map(Throwable::toString).toList();
            List<String> thrown = escaped.stream().map(Throwable::toString).toList();
            return new Run(state, serverName, routes, sniCompletions[0], outcome, firstReply(replies.toByteArray()),
                    replies.toByteArray(), closed, errors, thrown, unreleased);
        }

        private static State state(EmbeddedChannel ch) {
            if (!ch.isOpen()) {
                return State.CLOSED;
            }
            if (ch.pipeline().get(SslHandler.class) != null) {
                return State.TLS;
            }
            if (ch.pipeline().get(ServerNameRouter.class) != null || ch.pipeline().get(PostgresOpening.class) != null) {
                return State.WAITING;
            }
            return State.UNEXPECTED;
        }

        private static void drain(EmbeddedChannel ch, ByteArrayOutputStream into) {
            for (Object out; (out = ch.readOutbound()) != null; ) {
                if (out instanceof ByteBuf buf) {
                    into.writeBytes(ByteBufUtil.getBytes(buf));
                }
                ReferenceCountUtil.release(out);
            }
        }

        private static String firstReply(byte[] replies) {
            if (replies.length == 0) {
                return "none";
            }
            int type = replies[0] & 0xff;
            if (type == 21 && replies.length >= 7) {
                return String.format("alert %02x %02x", replies[5], replies[6]);
            }
            if (type == 22 && replies.length >= 6) {
                return String.format("handshake %02x", replies[5]);
            }
            if (type == 'E') {
                return "postgres error";
            }
            return String.format("type %02x", type);
        }

        private static boolean isError(Throwable t) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                if (c instanceof Error && !(c instanceof AssertionError)) {
                    return true;
                }
            }
            return false;
        }

        private static void attempt(List<Throwable> escaped, ThrowingRunnable action) {
            Throwable t = catchThrowable(action::run);
            if (t != null) {
                escaped.add(t);
            }
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }
}

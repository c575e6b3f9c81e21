package io.mergen.forwarder.relay;

import io.mergen.forwarder.Bench;
import io.mergen.forwarder.config.DomainRule;
import io.mergen.forwarder.config.Limits;
import io.mergen.forwarder.config.ListenerSpec;
import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.mergen.forwarder.netns.DialException;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.protocol.CancelKeys;
import io.mergen.forwarder.resolver.Route;
import io.mergen.forwarder.resolver.VmResolver;
import io.mergen.forwarder.tls.BenchTls;
import io.mergen.forwarder.tls.KeyMaterial;
import io.mergen.forwarder.tls.ServerTls;
import io.mergen.forwarder.tls.TlsOptions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.ApplicationProtocolNegotiator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSessionContext;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The SNI stage of one connection: a real ClientHello (captured from {@code openssl s_client}) fed to
 * {@link ServerNameRouter} on an {@link EmbeddedChannel}, with a real resolver (one VM) and the forwarder's own TLS
 * context. Every operation is one whole connection: a new channel, the hello in, the channel closed; so
 * {@link #channelOnly} is the floor the others stand on.
 *
 * <ul>
 *   <li>{@link #routeToTls}: parse, route, create the TLS handler (a real BoringSSL engine) and put it in place of
 *       the router: everything up to the handshake, which the parked handler does not start.
 *       {@link #routeToTlsRefcnt} is the same with BoringSSL's reference-counted engines ({@code OPENSSL_REFCNT}),
 *       which have no finalizer, instead of the forwarder's {@code OPENSSL}.</li>
 *   <li>{@link #refuseUnknownName}: a Kafka listener refusing an unknown name with a TLS alert (no TLS engine).</li>
 *   <li>{@link #routeAndServerFlight}: as routeToTls, then the real handshake's first server flight (ServerHello
 *       ... Finished, with the ECDSA signature): most of a full handshake's server-side CPU.</li>
 *   <li>{@link #serverFlightOnly}: the same flight from a bare SslHandler, for the share of the router.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SniRouteBenchmark {
    private static final String DOMAIN = "vm.localhost";
    private static final String SERVER_NAME = "app1." + DOMAIN;
    private static final String UNKNOWN_NAME = "nosuchvm." + DOMAIN;
    private static final InetSocketAddress CLIENT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 50_000);
    private static final NamespaceDialer NO_DIALER = (loop, netns, target, timeout, handler) ->
            loop.newFailedFuture(new DialException("the SNI benchmark dials nothing"));

    private Path dir;
    private VmResolver resolver;
    private ListenerContext https;
    private ListenerContext httpsParked;
    private ListenerContext httpsParkedRefcnt;
    private SslContext tlsRefcnt;
    private ListenerContext kafka;
    private SslContext tls;
    /** The captured hellos, held once; each connection gets a retained duplicate, as if freshly read. */
    private ByteBuf hello;
    private ByteBuf unknownHello;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Bench.quietLogs();
        dir = Files.createTempDirectory("mfwd-jmh-sni");
        try {
            KeyMaterial material = BenchTls.issue(dir, DOMAIN);
            tls = BenchTls.serverContext(material);
            Bench.writeMeta(Files.createDirectories(dir.resolve("vm.d")), Bench.vmId(1), "app1",
                    "10.213.34.2", "mfwd-jmh-unused");
            resolver = new VmResolver(dir.resolve("vm.d"), Duration.ZERO, new DomainRule("vm", "localhost"));
            resolver.reload();
            https = listener(":443=443", tls);
            httpsParked = listener(":443=443", new ParkedTls(tls));
            tlsRefcnt = BenchTls.serverContext(material, SslProvider.OPENSSL_REFCNT);
            httpsParkedRefcnt = listener(":443=443", new ParkedTls(tlsRefcnt));
            kafka = listener(":9092=9092", tls);
            hello = Bench.heldBuffer(BenchTls.clientHello(SERVER_NAME));
            unknownHello = Bench.heldBuffer(BenchTls.clientHello(UNKNOWN_NAME));
            System.out.println("ClientHello from openssl s_client: " + hello.readableBytes() + " bytes");
            verify();
        } catch (Exception | Error e) {
            tearDown();
            throw e;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ReferenceCountUtil.release(hello);
        ReferenceCountUtil.release(unknownHello);
        ReferenceCountUtil.release(tlsRefcnt);
        if (resolver != null) {
            resolver.close();
        }
        Bench.delete(dir);
    }

    private ListenerContext listener(String spec, SslContext context) {
        return new ListenerContext(ListenerSpec.parse(spec), DOMAIN, resolver, NO_DIALER,
                (name, routed, alloc) -> ServerTls.newHandler(context, alloc, TlsOptions.defaults()),
                Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofHours(1), new CancelKeys(),
                new ConnectionLimits(new Limits(0, 0, 0, 65_536)), new ForwarderMetrics());
    }

    /** Each benchmark must do what it says, or its figure means nothing. */
    private void verify() {
        EmbeddedChannel routed = connection(new ServerNameRouter(httpsParked));
        routed.writeInbound(hello.retainedDuplicate());
        RouteProbe probe = routed.pipeline().get(RouteProbe.class);
        check(routed.pipeline().get(ParkedHandler.class) != null && probe.route instanceof Route.Found,
                "routeToTls: no TLS handler or no route found: " + routed.pipeline().names() + " " + probe.route);
        routed.finishAndReleaseAll();

        EmbeddedChannel refused = connection(new ServerNameRouter(kafka));
        refused.writeInbound(unknownHello.retainedDuplicate());
        ByteBuf alert = refused.readOutbound();
        check(alert != null && alert.getByte(0) == 21 && !refused.isOpen(), "refuseUnknownName: no alert and close");
        alert.release();
        refused.finishAndReleaseAll();

        EmbeddedChannel flight = connection(new ServerNameRouter(https));
        flight.writeInbound(hello.retainedDuplicate());
        ByteBuf serverHello = flight.readOutbound();
        check(serverHello != null && serverHello.getByte(0) == 22 && serverHello.readableBytes() > 400,
                "routeAndServerFlight: no server flight: " + serverHello);
        serverHello.release();
        flight.finishAndReleaseAll();
    }

    private static void check(boolean ok, String problem) {
        if (!ok) {
            throw new IllegalStateException(problem);
        }
    }

    /** A connection as the initializer leaves it for the SNI stage: its facts attached, {@code first} in front. */
    private static EmbeddedChannel connection(ChannelHandler first) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.attr(ConnectionFacts.KEY).set(new ConnectionFacts(":443=443", CLIENT));
        ch.pipeline().addLast("sni", first);
        ch.pipeline().addLast("connector", new RouteProbe());
        return ch;
    }

    /** Ends a connection as the benchmark's last step and returns what it wrote, so nothing is optimised away. */
    private static int close(EmbeddedChannel ch) {
        int written = ch.outboundMessages().size();
        ch.finishAndReleaseAll();
        return written;
    }

    @Benchmark
    public int channelOnly() {
        EmbeddedChannel ch = connection(new ChannelInboundHandlerAdapter());
        ch.writeInbound(hello.retainedDuplicate());
        return close(ch);
    }

    @Benchmark
    public int routeToTls() {
        EmbeddedChannel ch = connection(new ServerNameRouter(httpsParked));
        ch.writeInbound(hello.retainedDuplicate());
        return close(ch);
    }

    @Benchmark
    public int routeToTlsRefcnt() {
        EmbeddedChannel ch = connection(new ServerNameRouter(httpsParkedRefcnt));
        ch.writeInbound(hello.retainedDuplicate());
        return close(ch);
    }

    @Benchmark
    public int refuseUnknownName() {
        EmbeddedChannel ch = connection(new ServerNameRouter(kafka));
        ch.writeInbound(unknownHello.retainedDuplicate());
        return close(ch);
    }

    @Benchmark
    public int routeAndServerFlight() {
        EmbeddedChannel ch = connection(new ServerNameRouter(https));
        ch.writeInbound(hello.retainedDuplicate());
        return close(ch);
    }

    @Benchmark
    public int serverFlightOnly() {
        EmbeddedChannel ch = connection(tls.newHandler(ByteBufAllocator.DEFAULT));
        ch.writeInbound(hello.retainedDuplicate());
        return close(ch);
    }

    /** Stands where the backend connector would: notes the route, drops what reaches it. */
    private static final class RouteProbe extends ChannelInboundHandlerAdapter {
        Route route;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof RouteDecided decided) {
                route = decided.route();
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * The forwarder's context, except that its handlers park: each gets a real engine (the per-connection native
     * SSL object, as in production) but leaves the ClientHello unanswered, so routeToTls stops where the router's
     * work ends.
     */
    private static final class ParkedTls extends SslContext {
        private final SslContext delegate;

        ParkedTls(SslContext delegate) {
            this.delegate = delegate;
        }

        @Override
        protected SslHandler newHandler(ByteBufAllocator alloc, boolean startTls) {
            return new ParkedHandler(delegate.newEngine(alloc));
        }

        @Override
        public boolean isClient() {
            return false;
        }

        @Override
        public List<String> cipherSuites() {
            return delegate.cipherSuites();
        }

        @Override
        @SuppressWarnings("deprecation")
        public ApplicationProtocolNegotiator applicationProtocolNegotiator() {
            return delegate.applicationProtocolNegotiator();
        }

        @Override
        public SSLEngine newEngine(ByteBufAllocator alloc) {
            return delegate.newEngine(alloc);
        }

        @Override
        public SSLEngine newEngine(ByteBufAllocator alloc, String peerHost, int peerPort) {
            return delegate.newEngine(alloc, peerHost, peerPort);
        }

        @Override
        public SSLSessionContext sessionContext() {
            return delegate.sessionContext();
        }
    }

    private static final class ParkedHandler extends SslHandler {
        ParkedHandler(SSLEngine engine) {
            super(engine);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            in.skipBytes(in.readableBytes());
        }
    }
}

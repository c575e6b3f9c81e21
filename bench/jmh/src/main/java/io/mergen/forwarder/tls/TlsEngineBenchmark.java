package io.mergen.forwarder.tls;

import io.mergen.forwarder.Bench;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The TLS engine every connection gets, by BoringSSL provider: {@code OPENSSL} is what the forwarder uses (its
 * engines have a {@code finalize()} method, so each one is registered with the JVM's finalizer and outlives a GC),
 * {@code OPENSSL_REFCNT} the same library with engines freed only by reference count (SslHandler releases them).
 * {@link #newEngine}: create and free an engine; {@link #serverFlight}: a ClientHello from {@code openssl s_client}
 * answered by an SslHandler on an EmbeddedChannel, up to the server's first flight (ServerHello ... Finished).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TlsEngineBenchmark {
    private static final String DOMAIN = "vm.localhost";

    @Param({"OPENSSL", "OPENSSL_REFCNT"})
    public SslProvider provider;

    private Path dir;
    private SslContext context;
    private ByteBuf hello;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Bench.quietLogs();
        dir = Files.createTempDirectory("mfwd-jmh-tls");
        try {
            context = BenchTls.serverContext(BenchTls.issue(dir, DOMAIN), provider);
            hello = Bench.heldBuffer(BenchTls.clientHello("app1." + DOMAIN));
            if (serverFlight() < 400) {
                throw new IllegalStateException("serverFlight: no server flight written");
            }
        } catch (Exception | Error e) {
            tearDown();
            throw e;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ReferenceCountUtil.release(hello);
        ReferenceCountUtil.release(context);
        Bench.delete(dir);
    }

    @Benchmark
    public SSLEngine newEngine() {
        SSLEngine engine = context.newEngine(ByteBufAllocator.DEFAULT);
        ReferenceCountUtil.release(engine);
        return engine;
    }

    @Benchmark
    public int serverFlight() {
        EmbeddedChannel ch = new EmbeddedChannel(context.newHandler(ByteBufAllocator.DEFAULT), new Sink());
        ch.writeInbound(hello.retainedDuplicate());
        int written = 0;
        for (ByteBuf out; (out = ch.readOutbound()) != null; ) {
            written += out.readableBytes();
            out.release();
        }
        ch.finishAndReleaseAll();
        return written;
    }

    /** Drops the handshake events and anything decrypted. */
    private static final class Sink extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            ReferenceCountUtil.release(evt);
        }
    }
}

package io.mergen.forwarder.relay;

import io.mergen.forwarder.Bench;
import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
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
 * The relay's per-read path on EmbeddedChannels: one 16 KiB read on the client side through {@link RelayHandler}
 * (count the bytes, write to the guest, flush on read-complete) until the guest's outbound queue holds it.
 * {@link #passThrough} does the same with a bare forwarding handler (Netty's HexDumpProxy), so the difference is
 * what the forwarder adds per read: the per-connection and Micrometer byte counts and the writability check.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RelayReadBenchmark {
    private static final int READ_BYTES = 16_384;
    private static final InetSocketAddress CLIENT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 50_000);

    private EmbeddedChannel client;
    private EmbeddedChannel guest;
    private EmbeddedChannel plainClient;
    private EmbeddedChannel plainGuest;
    private ByteBuf payload;

    @Setup(Level.Trial)
    public void setUp() {
        Bench.quietLogs();
        payload = Bench.heldBuffer(new byte[READ_BYTES]);

        client = new EmbeddedChannel();
        guest = new EmbeddedChannel();
        ConnectionFacts facts = new ConnectionFacts(":443=443", CLIENT);
        client.attr(ConnectionFacts.KEY).set(facts);
        ForwarderMetrics metrics = new ForwarderMetrics();
        Relay relay = new Relay(client, guest, facts, metrics.bytes(":443=443", Bench.vmId(1)), Duration.ofHours(1));
        client.pipeline().addLast("relay", new RelayHandler(relay, true));
        guest.pipeline().addLast("relay", new RelayHandler(relay, false));

        plainClient = new EmbeddedChannel();
        plainGuest = new EmbeddedChannel();
        plainClient.pipeline().addLast(new PassThrough(plainGuest));
        plainGuest.pipeline().addLast(new PassThrough(plainClient));

        if (clientToGuest() != READ_BYTES || passThrough() != READ_BYTES || facts.bytesFromClient() != READ_BYTES) {
            throw new IllegalStateException("a read did not arrive whole at the other side");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (EmbeddedChannel ch : new EmbeddedChannel[] {client, guest, plainClient, plainGuest}) {
            if (ch != null) {
                ch.finishAndReleaseAll();
            }
        }
        ReferenceCountUtil.release(payload);
    }

    @Benchmark
    public int clientToGuest() {
        return relay(client, guest);
    }

    @Benchmark
    public int passThrough() {
        return relay(plainClient, plainGuest);
    }

    /** One read arriving at {@code from} and taken off {@code to}'s outbound queue, as the socket write would. */
    private int relay(EmbeddedChannel from, EmbeddedChannel to) {
        from.writeInbound(payload.retainedDuplicate());
        ByteBuf out = to.readOutbound();
        int bytes = out.readableBytes();
        out.release();
        return bytes;
    }

    /** The least a relay can do: write what is read to the other side, flush when the read is complete. */
    private static final class PassThrough extends ChannelInboundHandlerAdapter {
        private final Channel peer;

        PassThrough(Channel peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            peer.write(msg, peer.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
        }
    }
}

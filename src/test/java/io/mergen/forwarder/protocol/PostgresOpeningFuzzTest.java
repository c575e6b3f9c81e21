package io.mergen.forwarder.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mergen.forwarder.FuzzTries;
import io.mergen.forwarder.NettyLeaks;
import io.mergen.forwarder.TrackingAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Fuzzes the Postgres opening with streams of opening packets (well-formed, malformed and random bytes) delivered in
 * arbitrary segments, against a model of what libpq's server side must do: answer SSLRequest with 'S' and
 * GSSENCRequest with 'N', hand everything from the TLS start on to the TLS stage, route a CancelRequest and then do
 * nothing more, refuse anything else with one FATAL ErrorResponse, and time out a client that never starts TLS;
 * the same whatever the segmentation, never throwing and releasing every buffer. Tries: see {@link FuzzTries}.
 */
@AddLifecycleHook(FuzzTries.class)
class PostgresOpeningFuzzTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String HINT = "use TLS";
    private static final int MAX_PACKET = 10_000;
    private static NettyLeaks leaks;

    @BeforeContainer
    static void trackEveryBuffer() {
        leaks = NettyLeaks.paranoid();
    }

    @AfterContainer
    static void noLeakReported() {
        try {
            leaks.assertNoneReported();
        } finally {
            leaks.close();
        }
    }

    @Property
    void packetStreamsGetWhatTheProtocolAllowsWhateverTheSegments(@ForAll("packetStreams") byte[] stream,
            @ForAll("segments") List<Integer> segments, @ForAll boolean cancelClosesLater) {
        check(stream, segments, cancelClosesLater);
    }

    @Property
    void arbitraryBytesGetWhatTheProtocolAllowsWhateverTheSegments(@ForAll("arbitraryBytes") byte[] stream,
            @ForAll("segments") List<Integer> segments, @ForAll boolean cancelClosesLater) {
        check(stream, segments, cancelClosesLater);
    }

    /**
     * Regression (found by {@link #packetStreamsGetWhatTheProtocolAllowsWhateverTheSegments}): a CancelRequest
     * followed by more bytes in the same read. The opening keeps decoding after it routed the cancel, so a
     * following SSLRequest is answered 'S' (when the cancel is still being dialed) and the rest is handed to the
     * TLS stage, on a connection that only exists to carry the cancel (and may already be closed).
     */
    @ParameterizedTest(name = "cancel closes later: {0}")
    @ValueSource(booleans = {true, false})
    void regressionNothingMoreIsReadAfterACancelRequest(boolean cancelClosesLater) {
        byte[] stream = HexFormat.of().parseHex("0000001004d2162e00000abc12345678" + "0000000804d2162f" + "160301");

        Observed observed = Observed.run(stream, List.of(stream.length), cancelClosesLater);

        assertThat(observed.cancelKey()).isEqualTo("00000abc12345678");
        assertThat(HexFormat.of().formatHex(observed.replies())).as("replies after the cancel").isEmpty();
        assertThat(HexFormat.of().formatHex(observed.toTls())).as("handed to the TLS stage").isEmpty();
    }

    private static void check(byte[] stream, List<Integer> segments, boolean cancelClosesLater) {
        Expected expected = Expected.of(stream);
        Statistics.label("end").collect(expected.end());
        Observed observed = Observed.run(stream, segments, cancelClosesLater);

        assertThat(observed.thrown()).as("thrown out of the pipeline").isEmpty();
        assertThat(observed.unreleased()).as("buffers not released").isEmpty();
        assertThat(HexFormat.of().formatHex(observed.replies()))
                .as("replies to %s", HexFormat.of().formatHex(stream))
                .isEqualTo(HexFormat.of().formatHex(expected.replies()));
        assertThat(HexFormat.of().formatHex(observed.toTls())).as("bytes handed to the TLS stage")
                .isEqualTo(HexFormat.of().formatHex(expected.toTls()));
        assertThat(observed.cancelKey()).as("routed cancel key").isEqualTo(expected.cancelKey());
        assertThat(observed.refusals()).as("OpeningRefused events").isEqualTo(expected.refusals());
        assertThat(observed.openAfterTimeout()).as("open after the handshake timeout")
                .isEqualTo(expected.end() == End.TLS);
    }

    /** How the opening ends: switched to TLS, routed a cancel, refused, or still waiting for bytes. */
    enum End { TLS, CANCEL, REFUSED, WAITING }

    /** What the protocol says the opening does with {@code stream}, however it is segmented. */
    record Expected(End end, byte[] replies, byte[] toTls, String cancelKey, List<String> refusals) {
        static Expected of(byte[] stream) {
            ByteArrayOutputStream replies = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.wrap(stream);
            while (true) {
                if (!in.hasRemaining()) {
                    return waiting(replies);
                }
                if ((in.get(in.position()) & 0xff) == 0x16) {
                    return tls(replies, in);
                }
                if (in.remaining() < 8) {
                    return waiting(replies);
                }
                int length = in.getInt(in.position());
                int code = in.getInt(in.position() + 4);
                if (length == 8 && code == PostgresMessages.SSL_REQUEST) {
                    in.position(in.position() + 8);
                    replies.write('S');
                    return tls(replies, in);
                } else if (length == 8 && code == PostgresMessages.GSSENC_REQUEST) {
                    in.position(in.position() + 8);
                    replies.write('N');
                } else if (code == PostgresMessages.CANCEL_REQUEST && length >= 16 && length <= 268) {
                    if (in.remaining() < length) {
                        return waiting(replies);
                    }
                    byte[] key = new byte[length - 8];
                    in.get(in.position() + 8, key);
                    return new Expected(End.CANCEL, replies.toByteArray(), new byte[0],
                            HexFormat.of().formatHex(key), List.of());
                } else if (length < 8 || length > MAX_PACKET) {
                    return refused(replies, PostgresMessages.PROTOCOL_VIOLATION,
                            "invalid startup packet length " + length);
                } else if (code >>> 16 == 3) {
                    return refused(replies, PostgresMessages.INVALID_AUTHORIZATION, HINT);
                } else {
                    return refused(replies, PostgresMessages.PROTOCOL_VIOLATION,
                            "unsupported startup packet (code " + code + "); " + HINT);
                }
            }
        }

        private static Expected waiting(ByteArrayOutputStream replies) {
            return new Expected(End.WAITING, replies.toByteArray(), new byte[0], null,
                    List.of("no TLS request within " + TIMEOUT.toSeconds() + "s"));
        }

        private static Expected tls(ByteArrayOutputStream replies, ByteBuffer rest) {
            byte[] toTls = new byte[rest.remaining()];
            rest.get(toTls);
            return new Expected(End.TLS, replies.toByteArray(), toTls, null, List.of());
        }

        private static Expected refused(ByteArrayOutputStream replies, String sqlState, String message) {
            ByteBuf error = PostgresMessages.fatal(UnpooledByteBufAllocator.DEFAULT, sqlState, message);
            try {
                assertErrorResponse(error.duplicate(), sqlState, message);
                replies.writeBytes(ByteBufUtil.getBytes(error));
            } finally {
                error.release();
            }
            return new Expected(End.REFUSED, replies.toByteArray(), new byte[0], null, List.of(message));
        }
    }

    /**
     * Checks the frame of an ErrorResponse as psql reads it: 'E', an int32 length counting itself and the rest,
     * NUL-terminated fields, a final NUL; and the fields FATAL, the SQLSTATE and the message.
     */
    static void assertErrorResponse(ByteBuf reply, String sqlState, String message) {
        assertThat((char) reply.readByte()).isEqualTo('E');
        assertThat(reply.readInt()).as("length field").isEqualTo(reply.readableBytes() + 4);
        Map<Character, String> fields = new LinkedHashMap<>();
        for (byte type; (type = reply.readByte()) != 0; ) {
            int end = reply.indexOf(reply.readerIndex(), reply.writerIndex(), (byte) 0);
            assertThat(end).as("field %s terminated", (char) type).isPositive();
            fields.put((char) type, reply.readCharSequence(end - reply.readerIndex(), StandardCharsets.UTF_8)
                    .toString());
            reply.skipBytes(1);
        }
        assertThat(reply.isReadable()).as("bytes after the final NUL").isFalse();
        assertThat(fields).containsExactly(Map.entry('S', "FATAL"), Map.entry('V', "FATAL"),
                Map.entry('C', sqlState), Map.entry('M', message));
    }

    /** What the opening did when {@code stream} arrived in segments of the given sizes (used in turn). */
    record Observed(List<Throwable> thrown, List<String> unreleased, byte[] replies, byte[] toTls, String cancelKey,
            List<String> refusals, boolean openAfterTimeout) {

        static Observed run(byte[] stream, List<Integer> segments, boolean cancelClosesLater) {
            TrackingAllocator alloc = new TrackingAllocator();
            List<Throwable> thrown = new ArrayList<>();
            ByteArrayOutputStream toTls = new ByteArrayOutputStream();
            List<String> refusals = new ArrayList<>();
            String[] cancelKey = new String[1];
            List<ChannelHandlerContext> toClose = new ArrayList<>();

            ChannelInboundHandlerAdapter tlsStage = new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf buf = (ByteBuf) msg;
                    toTls.writeBytes(ByteBufUtil.getBytes(buf));
                    buf.release();
                }
            };
            CancelRouter cancels = (ctx, key, request) -> {
                cancelKey[0] = HexFormat.of().formatHex(key);
                assertThat(ByteBufUtil.getBytes(request, request.readerIndex(), 8))
                        .isEqualTo(ByteBuffer.allocate(8).putInt(8 + key.length)
                                .putInt(PostgresMessages.CANCEL_REQUEST).array());
                request.release();
                // A known key is sent on after a dial, so the connection stays open a while; an unknown one not.
                if (cancelClosesLater) {
                    toClose.add(ctx);
                } else {
                    ctx.close();
                }
            };
            EmbeddedChannel ch = new EmbeddedChannel(false, false);
            ch.config().setAllocator(alloc);
            ch.pipeline().addLast(new PostgresOpening(() -> tlsStage, cancels, HINT, TIMEOUT),
                    new ChannelInboundHandlerAdapter() {
                        @Override
                        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                            if (evt instanceof OpeningRefused refused) {
                                refusals.add(refused.reason());
                            }
                            ctx.fireUserEventTriggered(evt);
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            thrown.add(cause);
                        }
                    });
            attempt(thrown, ch::register);
            ch.freezeTime();

            int at = 0;
            for (int i = 0; at < stream.length && ch.isOpen(); i++) {
                int size = Math.min(segments.get(i % segments.size()), stream.length - at);
                ByteBuf segment = alloc.heapBuffer(size).writeBytes(stream, at, size);
                at += size;
                attempt(thrown, () -> ch.writeInbound(segment));
            }
            toClose.forEach(ChannelHandlerContext::close);
            ch.advanceTimeBy(TIMEOUT.toMillis() + 1, TimeUnit.MILLISECONDS);
            attempt(thrown, ch::runScheduledPendingTasks);
            attempt(thrown, ch::runPendingTasks);
            boolean open = ch.isOpen();

            ByteArrayOutputStream replies = new ByteArrayOutputStream();
            for (Object out; (out = ch.readOutbound()) != null; ) {
                replies.writeBytes(ByteBufUtil.getBytes((ByteBuf) out));
                ((ByteBuf) out).release();
            }
            attempt(thrown, ch::finishAndReleaseAll);

            List<String> unreleased = alloc.unreleased();
            return new Observed(thrown, unreleased, replies.toByteArray(), toTls.toByteArray(), cancelKey[0],
                    refusals, open);
        }

        private static void attempt(List<Throwable> thrown, ThrowingRunnable action) {
            Throwable t = catchThrowable(action::run);
            if (t != null) {
                thrown.add(t);
            }
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Segment sizes, used in turn; mostly small, so packets and TLS records are cut everywhere. */
    @Provide
    Arbitrary<List<Integer>> segments() {
        return Arbitraries.oneOf(
                Arbitraries.integers().between(1, 16).list().ofMinSize(1).ofMaxSize(8),
                Arbitraries.integers().between(1, 20_000).list().ofMinSize(1).ofMaxSize(4),
                Arbitraries.of(List.of(1), List.of(Integer.MAX_VALUE)));
    }

    @Provide
    Arbitrary<byte[]> arbitraryBytes() {
        return Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(64),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(12_000));
    }

    /** One to five opening packets, well-formed or not, back to back. */
    @Provide
    Arbitrary<byte[]> packetStreams() {
        return packets().list().ofMinSize(1).ofMaxSize(5).map(list -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            list.forEach(out::writeBytes);
            return out.toByteArray();
        });
    }

    private static Arbitrary<byte[]> packets() {
        Arbitrary<byte[]> sslRequest = Arbitraries.just(packet(8, PostgresMessages.SSL_REQUEST, new byte[0]));
        Arbitrary<byte[]> gssencRequest = Arbitraries.just(packet(8, PostgresMessages.GSSENC_REQUEST, new byte[0]));
        Arbitrary<byte[]> cancel = Arbitraries.bytes().array(byte[].class).ofMinSize(0).ofMaxSize(270)
                .map(key -> packet(8 + key.length, PostgresMessages.CANCEL_REQUEST, key));
        Arbitrary<byte[]> startup = Combinators.combine(
                        Arbitraries.of(0x0003_0000, 0x0003_0002, 0x0002_0000, 0x0004_0000, 0x1234_5679),
                        Arbitraries.maps(Arbitraries.of("user", "database", "options", "application_name"),
                                Arbitraries.strings().ofMaxLength(30)).ofMaxSize(4))
                .as((version, parameters) -> {
                    ByteArrayOutputStream body = new ByteArrayOutputStream();
                    parameters.forEach((k, v) -> {
                        body.writeBytes((k + "\0" + v + "\0").getBytes(StandardCharsets.UTF_8));
                    });
                    body.write(0);
                    return packet(8 + body.size(), version, body.toByteArray());
                });
        Arbitrary<byte[]> anyPacket = Combinators.combine(
                        Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.integers().between(-2, 20),
                                Arbitraries.of(MAX_PACKET, MAX_PACKET + 1, 268, 269, 15, 16)),
                        Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.of(PostgresMessages.SSL_REQUEST,
                                PostgresMessages.GSSENC_REQUEST, PostgresMessages.CANCEL_REQUEST, 0x0003_0000)),
                        Arbitraries.bytes().array(byte[].class).ofMaxSize(64))
                .as(PostgresOpeningFuzzTest::packet);
        Arbitrary<byte[]> tlsRecord = Arbitraries.bytes().array(byte[].class).ofMaxSize(64)
                .map(rest -> {
                    byte[] record = new byte[rest.length + 1];
                    record[0] = 0x16;
                    System.arraycopy(rest, 0, record, 1, rest.length);
                    return record;
                });
        Arbitrary<byte[]> noise = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(12);
        return Arbitraries.frequencyOf(
                Tuple.of(3, sslRequest), Tuple.of(3, gssencRequest),
                Tuple.of(3, cancel), Tuple.of(3, startup),
                Tuple.of(3, anyPacket), Tuple.of(2, tlsRecord),
                Tuple.of(1, noise));
    }

    /** int32 length, int32 code, then the body as given (which need not match the length). */
    private static byte[] packet(int length, int code, byte[] body) {
        return ByteBuffer.allocate(8 + body.length).putInt(length).putInt(code).put(body).array();
    }
}

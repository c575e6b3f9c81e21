package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class PostgresOpeningTest {
    private static final byte[] SSL_REQUEST = HexFormat.of().parseHex("0000000804d2162f");
    private static final byte[] GSSENC_REQUEST = HexFormat.of().parseHex("0000000804d21630");

    /** Stands in for the SNI stage: collects what reaches it after the opening stepped aside. */
    private static final class TlsStage extends ChannelInboundHandlerAdapter {
        final List<ByteBuf> received = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            received.add((ByteBuf) msg);
        }

        String hex() {
            StringBuilder out = new StringBuilder();
            received.forEach(b -> out.append(io.netty.buffer.ByteBufUtil.hexDump(b)));
            return out.toString();
        }
    }

    private final TlsStage tlsStage = new TlsStage();
    private final AtomicReference<byte[]> cancelKey = new AtomicReference<>();
    private final List<Object> events = new ArrayList<>();

    private EmbeddedChannel channel() {
        CancelRouter router = (ctx, key, request) -> {
            cancelKey.set(key);
            request.release();
            ctx.close();
        };
        return new EmbeddedChannel(
                new PostgresOpening(() -> tlsStage, router, "use TLS", Duration.ofSeconds(10)),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        events.add(evt);
                    }
                });
    }

    @Test
    void sslRequestIsAnsweredWithSAndTheRestGoesToTls() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.wrappedBuffer(SSL_REQUEST, new byte[] {0x16, 0x03, 0x01}));
        assertThat(readOutbound(ch)).isEqualTo("53");
        assertThat(ch.pipeline().get(PostgresOpening.class)).isNull();
        assertThat(tlsStage.hex()).isEqualTo("160301");
    }

    @Test
    void sslRequestSplitIntoSingleBytesStillWorks() {
        EmbeddedChannel ch = channel();
        for (byte b : SSL_REQUEST) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertThat(readOutbound(ch)).isEqualTo("53");
        assertThat(ch.pipeline().get(PostgresOpening.class)).isNull();
    }

    @Test
    void gssencRequestGetsNAndTheClientMayAskForTlsNext() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.wrappedBuffer(GSSENC_REQUEST));
        assertThat(readOutbound(ch)).isEqualTo("4e");
        assertThat(ch.pipeline().get(PostgresOpening.class)).isNotNull();
        ch.writeInbound(Unpooled.wrappedBuffer(SSL_REQUEST));
        assertThat(readOutbound(ch)).isEqualTo("53");
        assertThat(ch.pipeline().get(PostgresOpening.class)).isNull();
    }

    @Test
    void directTlsGoesStraightToTheTlsStage() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x16, 0x03, 0x01, 0x00, 0x05}));
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(tlsStage.hex()).isEqualTo("1603010005");
    }

    @Test
    void cancelRequestIsRoutedWithItsKey() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.wrappedBuffer(HexFormat.of().parseHex("0000001004d2162e00000abc12345678")));
        assertThat(HexFormat.of().formatHex(cancelKey.get())).isEqualTo("00000abc12345678");
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void clearTextStartupGetsAFatalErrorResponseAndIsClosed() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(startupMessage(Map.of("user", "postgres", "database", "postgres")));
        ByteBuf reply = ch.readOutbound();
        Map<Character, String> fields = errorFields(reply);
        assertThat(fields).containsEntry('S', "FATAL").containsEntry('C', "28000").containsEntry('M', "use TLS");
        assertThat(ch.isActive()).isFalse();
        assertThat(events).singleElement().isInstanceOf(OpeningRefused.class);
    }

    @Test
    void absurdLengthIsAProtocolViolation() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.wrappedBuffer(HexFormat.of().parseHex("7fffffff00030000")));
        assertThat(errorFields(ch.readOutbound())).containsEntry('C', "08P01");
        assertThat(ch.isActive()).isFalse();
    }

    static ByteBuf startupMessage(Map<String, String> parameters) {
        ByteBuf body = Unpooled.buffer();
        body.writeInt(196608);
        parameters.forEach((k, v) -> {
            body.writeCharSequence(k, StandardCharsets.US_ASCII);
            body.writeByte(0);
            body.writeCharSequence(v, StandardCharsets.US_ASCII);
            body.writeByte(0);
        });
        body.writeByte(0);
        ByteBuf message = Unpooled.buffer().writeInt(body.readableBytes() + 4).writeBytes(body);
        body.release();
        return message;
    }

    /** Parses an ErrorResponse into its fields, checking the frame as psql would. */
    static Map<Character, String> errorFields(ByteBuf reply) {
        try {
            assertThat((char) reply.readByte()).isEqualTo('E');
            assertThat(reply.readInt()).isEqualTo(reply.readableBytes() + 4);
            Map<Character, String> fields = new java.util.HashMap<>();
            for (byte type; (type = reply.readByte()) != 0; ) {
                int end = reply.indexOf(reply.readerIndex(), reply.writerIndex(), (byte) 0);
                fields.put((char) type, reply.readCharSequence(end - reply.readerIndex(), StandardCharsets.UTF_8).toString());
                reply.skipBytes(1);
            }
            return fields;
        } finally {
            reply.release();
        }
    }

    private static String readOutbound(EmbeddedChannel ch) {
        ByteBuf out = ch.readOutbound();
        try {
            return io.netty.buffer.ByteBufUtil.hexDump(out);
        } finally {
            out.release();
        }
    }
}

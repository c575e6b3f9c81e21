package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

class BackendKeySnifferTest {
    private static final CancelKeys.Target TARGET =
            new CancelKeys.Target("vm-1", "ns-1", new InetSocketAddress("10.0.0.2", 5432));
    private static final byte[] KEY = HexFormat.of().parseHex("00000abc12345678");

    /** AuthenticationOk, a ParameterStatus, BackendKeyData, ReadyForQuery, then a query result row. */
    private static byte[] startup() {
        ByteBuf out = Unpooled.buffer();
        out.writeByte('R').writeInt(8).writeInt(0);
        byte[] param = "server_version\u000015\u0000".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.writeByte('S').writeInt(4 + param.length).writeBytes(param);
        out.writeByte('K').writeInt(4 + KEY.length).writeBytes(KEY);
        out.writeByte('Z').writeInt(5).writeByte('I');
        out.writeByte('D').writeInt(6).writeShort(0);
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        return bytes;
    }

    @Test
    void remembersTheKeyPassesEverythingOnAndLeavesAtReadyForQuery() {
        CancelKeys keys = new CancelKeys();
        EmbeddedChannel guest = new EmbeddedChannel(new BackendKeySniffer(keys, TARGET));
        byte[] bytes = startup();
        guest.writeInbound(Unpooled.wrappedBuffer(bytes));

        assertThat(keys.find(KEY)).contains(TARGET);
        assertThat(guest.pipeline().get(BackendKeySniffer.class)).isNull();
        ByteBuf relayed = guest.readInbound();
        assertThat(io.netty.buffer.ByteBufUtil.getBytes(relayed)).isEqualTo(bytes);
        relayed.release();

        guest.close();
        assertThat(keys.find(KEY)).isEmpty();
    }

    @Property(tries = 200)
    void findsTheKeyWhereverTheReadsSplitTheStream(@ForAll @IntRange(min = 1, max = 40) int chunk) {
        CancelKeys keys = new CancelKeys();
        EmbeddedChannel guest = new EmbeddedChannel(new BackendKeySniffer(keys, TARGET));
        byte[] bytes = startup();
        for (int at = 0; at < bytes.length; at += chunk) {
            guest.writeInbound(Unpooled.wrappedBuffer(bytes, at, Math.min(chunk, bytes.length - at)));
        }
        assertThat(keys.find(KEY)).contains(TARGET);
        guest.finishAndReleaseAll();
    }
}

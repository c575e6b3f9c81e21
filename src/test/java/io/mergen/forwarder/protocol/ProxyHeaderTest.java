package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;

class ProxyHeaderTest {
    private static final String SIGNATURE = "0d0a0d0a000d0a515549540a";

    @Test
    void ipv4WithTheServerNameAsAuthority() {
        ByteBuf header = ProxyHeader.encode(ByteBufAllocator.DEFAULT, new InetSocketAddress("192.0.2.7", 51234),
                new InetSocketAddress("127.0.0.1", 443), "app1.localhost");
        assertThat(ByteBufUtil.hexDump(header)).isEqualTo(SIGNATURE
                + "21" + "11" + "001d"               // v2 PROXY, TCP over IPv4, 12 address bytes + 17 TLV bytes
                + "c0000207" + "7f000001" + "c822" + "01bb"
                + "02" + "000e" + ByteBufUtil.hexDump("app1.localhost".getBytes()));
        header.release();
    }

    @Test
    void ipv6WithoutServerName() {
        ByteBuf header = ProxyHeader.encode(ByteBufAllocator.DEFAULT, new InetSocketAddress("2001:db8::1", 40000),
                new InetSocketAddress("::1", 2022), null);
        assertThat(ByteBufUtil.hexDump(header)).isEqualTo(SIGNATURE + "21" + "21" + "0024"
                + "20010db8000000000000000000000001" + "00000000000000000000000000000001" + "9c40" + "07e6");
        header.release();
    }

    @Test
    void ipv4MappedClientOfADualStackListenerIsSentAsIpv4() {
        ByteBuf header = ProxyHeader.encode(ByteBufAllocator.DEFAULT, new InetSocketAddress("::ffff:192.0.2.7", 1),
                new InetSocketAddress("::ffff:127.0.0.1", 443), null);
        assertThat(ByteBufUtil.hexDump(header)).isEqualTo(SIGNATURE + "21" + "11" + "000c"
                + "c0000207" + "7f000001" + "0001" + "01bb");
        header.release();
    }
}

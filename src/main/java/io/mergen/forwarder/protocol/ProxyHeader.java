package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * A PROXY protocol version 2 header (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2),
 * sent to the guest before any client byte so it sees the real client address, with the SNI name as an
 * authority TLV (PP2_TYPE_AUTHORITY, section 2.2.2).
 */
public final class ProxyHeader {
    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final int VERSION_2_PROXY = 0x21;
    private static final int TCP_OVER_IPV4 = 0x11;
    private static final int TCP_OVER_IPV6 = 0x21;
    private static final int PP2_TYPE_AUTHORITY = 0x02;

    private ProxyHeader() {
    }

    /**
     * @param client     the client's address, as the forwarder accepted it
     * @param local      the forwarder's address the client connected to
     * @param serverName the SNI name, or null (raw listeners)
     */
    public static ByteBuf encode(ByteBufAllocator alloc, InetSocketAddress client, InetSocketAddress local,
                                 String serverName) {
        InetAddress source = unmapped(client.getAddress());
        InetAddress destination = unmapped(local.getAddress());
        boolean ipv4 = source instanceof Inet4Address && destination instanceof Inet4Address;
        byte[] src = ipv4 ? source.getAddress() : ipv6(source);
        byte[] dst = ipv4 ? destination.getAddress() : ipv6(destination);
        byte[] authority = serverName == null ? new byte[0] : serverName.getBytes(StandardCharsets.US_ASCII);
        int tlvLength = authority.length == 0 ? 0 : 3 + authority.length;
        int addressLength = 2 * src.length + 4;

        ByteBuf out = alloc.buffer(16 + addressLength + tlvLength);
        out.writeBytes(SIGNATURE);
        out.writeByte(VERSION_2_PROXY);
        out.writeByte(ipv4 ? TCP_OVER_IPV4 : TCP_OVER_IPV6);
        out.writeShort(addressLength + tlvLength);
        out.writeBytes(src).writeBytes(dst);
        out.writeShort(client.getPort()).writeShort(local.getPort());
        if (tlvLength > 0) {
            out.writeByte(PP2_TYPE_AUTHORITY).writeShort(authority.length).writeBytes(authority);
        }
        return out;
    }

    /** A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the guest should see a.b.c.d. */
    private static InetAddress unmapped(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (address instanceof Inet6Address && isV4Mapped(bytes)) {
            try {
                return InetAddress.getByAddress(new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]});
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
        return address;
    }

    private static boolean isV4Mapped(byte[] bytes) {
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
    }

    /** Both addresses must be of one family: an IPv4 one is sent IPv4-mapped when the other is IPv6. */
    private static byte[] ipv6(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length == 16) {
            return bytes;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(bytes, 0, mapped, 12, 4);
        return mapped;
    }
}

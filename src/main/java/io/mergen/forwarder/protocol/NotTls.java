package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Recognises a client that speaks something other than TLS on a TLS port, so the log can say what it was and an
 * HTTP client can be told in words it understands.
 */
public final class NotTls {
    /** A TLS record carrying a handshake message (RFC 8446 section 5.1, ContentType handshake). */
    private static final int TLS_HANDSHAKE = 0x16;
    private static final Pattern HTTP_REQUEST = Pattern.compile("^[A-Z]{3,10} \\S");

    private NotTls() {
    }

    /** Whether the first byte already shows this is not a TLS ClientHello. */
    public static boolean isNotTls(ByteBuf in) {
        return in.isReadable() && in.getUnsignedByte(in.readerIndex()) != TLS_HANDSHAKE;
    }

    /** A short description of what arrived instead, for the log line. */
    public static String describe(ByteBuf in) {
        String head = head(in);
        if (HTTP_REQUEST.matcher(head).find()) {
            return "plain-text HTTP request on a TLS port";
        }
        if (head.startsWith("SSH-")) {
            return "SSH banner on a TLS port";
        }
        return String.format("not TLS (first byte 0x%02x)", in.getUnsignedByte(in.readerIndex()));
    }

    /** The clear-text reply for this listener, if its clients would understand one. */
    public static Optional<ByteBuf> reply(ListenerProtocol protocol, ByteBuf in, ByteBufAllocator alloc) {
        if (protocol == ListenerProtocol.HTTPS && HTTP_REQUEST.matcher(head(in)).find()) {
            return Optional.of(HttpsRefusal.plainHttpOnTlsPort(alloc));
        }
        return Optional.empty();
    }

    private static String head(ByteBuf in) {
        return in.toString(in.readerIndex(), Math.min(in.readableBytes(), 16), StandardCharsets.ISO_8859_1);
    }
}

package io.mergen.forwarder.app;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * Builds TLS 1.2 ClientHello records byte by byte, so a test can send what no TLS library would: any server name
 * bytes, a hello padded past 16 KiB, one split over many records or cut short.
 */
final class ClientHellos {
    /** RFC 5246 section 6.2.1: a record carries at most 2^14 bytes. */
    static final int MAX_RECORD = 1 << 14;
    /** RFC 8446 section 5.1: TLS record content type handshake. */
    static final int HANDSHAKE = 0x16;
    /** RFC 8446 section 5.1: TLS record content type alert. */
    static final int ALERT = 0x15;

    private ClientHellos() {
    }

    /** A ClientHello for {@code serverName} (none when null) in records of at most 2^14 bytes. */
    static byte[] hello(String serverName) {
        return records(handshake(serverName == null ? null : serverName.getBytes(StandardCharsets.ISO_8859_1),
                0, 0), MAX_RECORD);
    }

    /**
     * A ClientHello handshake message (type, length, body) whose total size is {@code size} bytes, filled up
     * with a padding extension (RFC 7685) and, beyond what one extension holds, unknown cipher suites.
     */
    static byte[] handshakeOfSize(String serverName, int size) {
        byte[] name = serverName.getBytes(StandardCharsets.ISO_8859_1);
        int bare = handshake(name, 0, 0).length;
        int missing = size - bare;
        if (missing < 4) {
            throw new IllegalArgumentException("size: " + size + " (expected: >= " + (bare + 4) + ")");
        }
        // A padding extension costs 4 bytes of header; the extensions block holds at most 2^16-1 bytes.
        int padding = Math.min(missing - 4, 60_000);
        int suiteBytes = missing - 4 - padding;
        if (suiteBytes % 2 != 0) {
            padding += 1;
            suiteBytes -= 1;
        }
        byte[] message = handshake(name, padding, suiteBytes / 2);
        if (message.length != size) {
            throw new IllegalStateException("built " + message.length + " bytes (expected: " + size + ")");
        }
        return message;
    }

    /**
     * The handshake message: a TLS 1.2 ClientHello offering ECDHE suites (ECDSA and RSA), the groups and
     * signature algorithms a BoringSSL server needs to pick one, and optionally padding and extra suites.
     */
    static byte[] handshake(byte[] serverName, int paddingBytes, int extraSuites) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        u16(body, 0x0303);
        byte[] random = new byte[32];
        new Random(7).nextBytes(random);
        body.writeBytes(random);
        body.write(0); // no session id
        int[] suites = {0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca9, 0xcca8};
        u16(body, 2 * (suites.length + extraSuites));
        for (int suite : suites) {
            u16(body, suite);
        }
        for (int i = 0; i < extraSuites; i++) {
            u16(body, 0xfe00 + (i & 0xff)); // unassigned code points: a server skips what it does not know
        }
        body.write(1);
        body.write(0); // compression: null only

        ByteArrayOutputStream extensions = new ByteArrayOutputStream();
        if (serverName != null) {
            // RFC 6066 section 3: server_name_list of one host_name entry.
            ByteArrayOutputStream sni = new ByteArrayOutputStream();
            u16(sni, serverName.length + 3);
            sni.write(0);
            u16(sni, serverName.length);
            sni.writeBytes(serverName);
            extension(extensions, 0, sni.toByteArray());
        }
        extension(extensions, 10, new byte[] {0, 4, 0, 0x1d, 0, 0x17}); // supported_groups: x25519, secp256r1
        extension(extensions, 11, new byte[] {1, 0}); // ec_point_formats: uncompressed
        extension(extensions, 13, new byte[] {0, 8, 4, 3, 8, 4, 4, 1, 5, 3}); // signature_algorithms
        extension(extensions, 23, new byte[0]); // extended_master_secret
        extension(extensions, 0xff01, new byte[] {0}); // renegotiation_info, empty
        if (paddingBytes > 0) {
            extension(extensions, 21, new byte[paddingBytes]);
        }
        u16(body, extensions.size());
        body.writeBytes(extensions.toByteArray());

        ByteArrayOutputStream message = new ByteArrayOutputStream();
        message.write(1); // client_hello
        u24(message, body.size());
        message.writeBytes(body.toByteArray());
        return message.toByteArray();
    }

    /** Wraps a handshake message in handshake records of at most {@code recordSize} bytes each. */
    static byte[] records(byte[] handshake, int recordSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int offset = 0; offset < handshake.length; offset += recordSize) {
            int length = Math.min(recordSize, handshake.length - offset);
            out.write(HANDSHAKE);
            u16(out, 0x0301);
            u16(out, length);
            out.write(handshake, offset, length);
        }
        return out.toByteArray();
    }

    private static void extension(ByteArrayOutputStream out, int type, byte[] data) {
        u16(out, type);
        u16(out, data.length);
        out.writeBytes(data);
    }

    private static void u16(ByteArrayOutputStream out, int value) {
        out.write(value >>> 8);
        out.write(value);
    }

    private static void u24(ByteArrayOutputStream out, int value) {
        out.write(value >>> 16);
        u16(out, value);
    }
}

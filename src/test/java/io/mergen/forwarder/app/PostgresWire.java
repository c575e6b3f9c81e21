package io.mergen.forwarder.app;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds and parses the few PostgreSQL frontend/backend protocol 3.0 messages the end-to-end tests write by
 * hand (PostgreSQL docs, "Frontend/Backend Protocol", "Message Formats").
 */
final class PostgresWire {
    /** Protocol 3.0 in a StartupMessage: major 3 in the high 16 bits, minor 0. */
    static final int PROTOCOL_3_0 = 196_608;
    /** The code an SSLRequest carries instead of a protocol version (1234 << 16 | 5679). */
    static final int SSL_REQUEST_CODE = 80_877_103;

    /** A backend message: its type byte and its body without the length word. */
    record Message(char type, byte[] body) {
        String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private PostgresWire() {
    }

    /** SSLRequest: int32 length 8, int32 80877103; the server answers one byte, 'S' or 'N'. */
    static byte[] sslRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(SSL_REQUEST_CODE).array();
    }

    /** StartupMessage: int32 length, int32 protocol, then name/value C strings and a final zero byte. */
    static byte[] startupMessage(String user, String database) {
        ByteArrayOutputStream parameters = new ByteArrayOutputStream();
        for (String s : new String[] {"user", user, "database", database}) {
            parameters.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            parameters.write(0);
        }
        parameters.write(0);
        byte[] body = parameters.toByteArray();
        return ByteBuffer.allocate(8 + body.length).putInt(8 + body.length).putInt(PROTOCOL_3_0).put(body).array();
    }

    /** Query ('Q'): a simple-protocol statement. */
    static byte[] query(String sql) {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 4 + text.length + 1).put((byte) 'Q').putInt(4 + text.length + 1)
                .put(text).put((byte) 0).array();
    }

    /** Terminate ('X'). */
    static byte[] terminate() {
        return ByteBuffer.allocate(5).put((byte) 'X').putInt(4).array();
    }

    /** Reads one backend message: a type byte, an int32 length that counts itself, the body. */
    static Message read(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        int type = data.read();
        if (type < 0) {
            throw new EOFException("connection closed before a message");
        }
        int length = data.readInt();
        if (length < 4 || length > 16 << 20) {
            throw new IOException("message '" + (char) type + "' with length " + length + " (expected: 4..16 MiB)");
        }
        byte[] body = new byte[length - 4];
        data.readFully(body);
        return new Message((char) type, body);
    }

    /** Reads messages until one of type {@code type} and returns it; fails on an ErrorResponse first. */
    static Message readUntil(InputStream in, char type) throws IOException {
        while (true) {
            Message message = read(in);
            if (message.type() == type) {
                return message;
            }
            if (message.type() == 'E') {
                throw new IOException("ErrorResponse while waiting for '" + type + "': " + fields(message.body()));
            }
        }
    }

    /** The fields of an ErrorResponse or NoticeResponse: a type byte, a C string each, then a zero byte. */
    static Map<Character, String> fields(byte[] body) {
        Map<Character, String> fields = new LinkedHashMap<>();
        int i = 0;
        while (i < body.length && body[i] != 0) {
            char code = (char) body[i++];
            int end = i;
            while (end < body.length && body[end] != 0) {
                end++;
            }
            if (end == body.length) {
                throw new IllegalArgumentException("field '" + code + "' has no terminating zero byte");
            }
            fields.put(code, new String(body, i, end - i, StandardCharsets.UTF_8));
            i = end + 1;
        }
        if (i != body.length - 1) {
            throw new IllegalArgumentException("fields end at byte " + i + " of " + body.length + " (expected: the last)");
        }
        return fields;
    }

    /** The column values of a DataRow ('D') as text; null for SQL NULL. */
    static String[] dataRow(byte[] body) {
        ByteBuffer buffer = ByteBuffer.wrap(body);
        String[] values = new String[buffer.getShort()];
        for (int c = 0; c < values.length; c++) {
            int length = buffer.getInt();
            if (length >= 0) {
                byte[] value = new byte[length];
                buffer.get(value);
                values[c] = new String(value, StandardCharsets.UTF_8);
            }
        }
        return values;
    }
}

package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/** Reads and writes the few DER (ITU-T X.690) elements needed to re-wrap legacy private keys as PKCS#8. */
final class Der {
    static final int INTEGER = 0x02;
    static final int OCTET_STRING = 0x04;
    static final int NULL = 0x05;
    static final int OBJECT_IDENTIFIER = 0x06;
    static final int SEQUENCE = 0x30;
    /** Context-specific, constructed, tag number 0: SEC1's {@code [0] parameters}. */
    static final int CONTEXT_0 = 0xA0;

    private Der() {}

    /** One tag-length-value element; {@code encoded} is the whole element, for embedding it unchanged elsewhere. */
    record Element(int tag, byte[] value, byte[] encoded) {
        Reader contents() {
            return new Reader(value);
        }
    }

    /** Walks the elements of one DER buffer in order; every length is checked against the buffer. */
    static final class Reader {
        private final byte[] data;
        private int position;

        Reader(byte[] data) {
            this.data = requireNonNull(data, "data");
        }

        boolean hasMore() {
            return position < data.length;
        }

        Element next(int expectedTag) {
            Element element = next();
            if (element.tag() != expectedTag) {
                throw new InvalidMaterialException(
                        "malformed DER: expected tag 0x%02x but found 0x%02x".formatted(expectedTag, element.tag()));
            }
            return element;
        }

        Element next() {
            int start = position;
            int tag = readByte();
            if ((tag & 0x1F) == 0x1F) {
                throw new InvalidMaterialException("malformed DER: multi-byte tags are not used by key formats");
            }
            int length = readLength();
            if (length > data.length - position) {
                throw new InvalidMaterialException(
                        "malformed DER: element of %d bytes at offset %d runs past the end (%d bytes)"
                                .formatted(length, start, data.length));
            }
            byte[] value = slice(position, length);
            position += length;
            return new Element(tag, value, slice(start, position - start));
        }

        private int readLength() {
            int first = readByte();
            if (first < 0x80) {
                return first;
            }
            int octets = first & 0x7F;
            // 0x80 is BER's indefinite length, which DER forbids; more than 3 octets is beyond any key file.
            if (octets == 0 || octets > 3) {
                throw new InvalidMaterialException("malformed DER: unsupported length encoding 0x%02x".formatted(first));
            }
            int length = 0;
            for (int i = 0; i < octets; i++) {
                length = (length << 8) | readByte();
            }
            return length;
        }

        private int readByte() {
            if (position >= data.length) {
                throw new InvalidMaterialException("malformed DER: truncated at offset " + position);
            }
            return data[position++] & 0xFF;
        }

        private byte[] slice(int from, int length) {
            byte[] copy = new byte[length];
            System.arraycopy(data, from, copy, 0, length);
            return copy;
        }
    }

    /** Encodes one element whose value is the concatenation of {@code parts} (already-encoded children or raw bytes). */
    static byte[] element(int tag, byte[]... parts) {
        ByteArrayOutputStream value = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            value.writeBytes(part);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        writeLength(out, value.size());
        out.writeBytes(value.toByteArray());
        return out.toByteArray();
    }

    static byte[] integer(long value) {
        return element(INTEGER, BigInteger.valueOf(value).toByteArray());
    }

    static byte[] nullElement() {
        return element(NULL);
    }

    /** Encodes a dotted object identifier such as {@code 1.2.840.113549.1.1.1} (X.690 section 8.19). */
    static byte[] objectIdentifier(String dotted) {
        String[] arcs = dotted.split("\\.");
        if (arcs.length < 2) {
            throw new IllegalArgumentException("dotted: " + dotted + " (expected: at least two arcs)");
        }
        ByteArrayOutputStream value = new ByteArrayOutputStream();
        writeBase128(value, Long.parseLong(arcs[0]) * 40 + Long.parseLong(arcs[1]));
        for (int i = 2; i < arcs.length; i++) {
            writeBase128(value, Long.parseLong(arcs[i]));
        }
        return element(OBJECT_IDENTIFIER, value.toByteArray());
    }

    /** Decodes the value of an OBJECT IDENTIFIER element back to dotted form. */
    static String objectIdentifier(byte[] value) {
        if (value.length == 0) {
            throw new InvalidMaterialException("malformed DER: empty object identifier");
        }
        List<Long> arcs = new ArrayList<>();
        long arc = 0;
        for (int i = 0; i < value.length; i++) {
            if (arc > (Long.MAX_VALUE >>> 7)) {
                throw new InvalidMaterialException("malformed DER: object identifier arc too large");
            }
            arc = (arc << 7) | (value[i] & 0x7F);
            if ((value[i] & 0x80) == 0) {
                arcs.add(arc);
                arc = 0;
            } else if (i == value.length - 1) {
                throw new InvalidMaterialException("malformed DER: truncated object identifier");
            }
        }
        long first = arcs.getFirst();
        StringBuilder dotted = new StringBuilder();
        dotted.append(Math.min(first / 40, 2)).append('.').append(first - Math.min(first / 40, 2) * 40);
        for (int i = 1; i < arcs.size(); i++) {
            dotted.append('.').append(arcs.get(i));
        }
        return dotted.toString();
    }

    private static void writeLength(ByteArrayOutputStream out, int length) {
        if (length < 0x80) {
            out.write(length);
            return;
        }
        int octets = (Integer.SIZE - Integer.numberOfLeadingZeros(length) + 7) / 8;
        out.write(0x80 | octets);
        for (int i = octets - 1; i >= 0; i--) {
            out.write(length >>> (8 * i));
        }
    }

    private static void writeBase128(ByteArrayOutputStream out, long arc) {
        if (arc < 0) {
            throw new IllegalArgumentException("arc: " + arc + " (expected: >= 0)");
        }
        int groups = Math.max(1, (Long.SIZE - Long.numberOfLeadingZeros(arc) + 6) / 7);
        for (int i = groups - 1; i >= 0; i--) {
            int group = (int) ((arc >>> (7 * i)) & 0x7F);
            out.write(i == 0 ? group : group | 0x80);
        }
    }
}

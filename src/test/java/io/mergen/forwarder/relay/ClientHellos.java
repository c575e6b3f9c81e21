package io.mergen.forwarder.relay;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Builders;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * Builds TLS ClientHellos byte by byte (RFC 8446 section 4.1.2; server_name RFC 6066 section 3; ALPN RFC 7301;
 * padding RFC 7685), split over records, and generates them and their mutations for fuzz tests.
 */
final class ClientHellos {
    /** RFC 7748 section 6.1, Alice's public key: a valid X25519 share, so BoringSSL can answer a TLS 1.3 hello. */
    private static final byte[] X25519_SHARE =
            HexFormat.of().parseHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    /** BoringSSL refuses a handshake message longer than this from a client (ssl_max_handshake_message_len). */
    static final int BORINGSSL_MAX_CLIENT_HELLO = 16_384;
    private static final int MAX_FRAGMENT = 16_384;
    /** Leaves room for the other extensions in the extensions block, whose length field has 16 bits. */
    private static final int MAX_PADDING = 62_000;

    private static final int SERVER_NAME = 0;
    private static final int SUPPORTED_GROUPS = 10;
    private static final int EC_POINT_FORMATS = 11;
    private static final int SIGNATURE_ALGORITHMS = 13;
    private static final int ALPN = 16;
    private static final int PADDING = 21;
    private static final int SUPPORTED_VERSIONS = 43;
    private static final int KEY_SHARE = 51;

    private ClientHellos() {
    }

    /** Where a length field sits in the wire bytes, for mutations that lie about lengths. */
    record LengthField(int offset, int width) {
    }

    /**
     * A ClientHello on the wire.
     *
     * @param host       the server_name host bytes, null when the hello has no server_name extension
     * @param bodyLength the ClientHello body length (what the handshake header says)
     * @param acceptable whether BoringSSL should answer it with a ServerHello (sane name, size and ALPN)
     */
    record Hello(byte[] wire, byte[] host, int bodyLength, List<LengthField> lengthFields, boolean acceptable) {
        /**
         * The server name Netty reports for {@link #host}: one char per byte (its "US-ASCII" decoding maps 0x80-0xFF
         * to U+0080-U+00FF, as ISO-8859-1 does), lower-cased in Locale.US; control characters are kept.
         */
        String reportedName() {
            return host == null ? null : new String(host, StandardCharsets.ISO_8859_1).toLowerCase(Locale.US);
        }

        @Override
        public String toString() {
            return "Hello[host=" + (host == null ? "none" : HexFormat.of().formatHex(host)) + ", body=" + bodyLength
                    + ", wire=" + wire.length + " bytes, acceptable=" + acceptable + "]";
        }
    }

    /** What goes into a hello; the generators fill it in. */
    static final class Spec {
        byte[] host;
        boolean sni = true;
        byte[] sessionId = new byte[0];
        List<Integer> extraSuites = List.of();
        int bulkSuites;
        List<byte[]> alpn;
        int padding = -1;
        List<Tuple.Tuple2<Integer, byte[]>> unknown = List.of();
        List<Integer> order = List.of();
        List<Integer> fragments = List.of(MAX_FRAGMENT);
        int recordVersion = 0x0301;
        boolean keyShare = true;

        Spec host(byte[] value) {
            this.host = value;
            return this;
        }

        Spec sni(boolean value) {
            this.sni = value;
            return this;
        }

        Spec sessionId(byte[] value) {
            this.sessionId = value;
            return this;
        }

        Spec extraSuites(List<Integer> value) {
            this.extraSuites = value;
            return this;
        }

        Spec bulkSuites(int value) {
            this.bulkSuites = value;
            return this;
        }

        Spec alpn(List<byte[]> value) {
            this.alpn = value;
            return this;
        }

        Spec padding(int value) {
            this.padding = value;
            return this;
        }

        Spec unknown(List<Tuple.Tuple2<Integer, byte[]>> value) {
            this.unknown = value;
            return this;
        }

        Spec order(List<Integer> value) {
            this.order = value;
            return this;
        }

        Spec fragments(List<Integer> value) {
            this.fragments = value;
            return this;
        }

        Spec recordVersion(int value) {
            this.recordVersion = value;
            return this;
        }

        Spec keyShare(boolean value) {
            this.keyShare = value;
            return this;
        }
    }

    /** Writes bytes and remembers where the length fields are, relative to the handshake message. */
    private static final class Writer {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final List<LengthField> lengths = new ArrayList<>();

        void u8(int v) {
            out.write(v);
        }

        void u16(int v) {
            out.write(v >>> 8);
            out.write(v);
        }

        void u24(int v) {
            out.write(v >>> 16);
            u16(v & 0xffff);
        }

        void bytes(byte[] b) {
            out.writeBytes(b);
        }

        /** A length-prefixed vector (width 1, 2 or 3 bytes) whose content {@code body} writes. */
        void vector(int width, Runnable body) {
            int at = out.size();
            lengths.add(new LengthField(at, width));
            for (int i = 0; i < width; i++) {
                out.write(0);
            }
            body.run();
            int length = out.size() - at - width;
            byte[] all = out.toByteArray();
            for (int i = 0; i < width; i++) {
                all[at + i] = (byte) (length >>> (8 * (width - 1 - i)));
            }
            out.reset();
            out.writeBytes(all);
        }
    }

    static Hello build(Spec spec) {
        Writer w = new Writer();
        w.u8(1); // client_hello
        w.vector(3, () -> {
            w.u16(0x0303);
            w.bytes(new byte[32]);
            w.vector(1, () -> w.bytes(spec.sessionId));
            w.vector(2, () -> {
                for (int suite : List.of(0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f)) {
                    w.u16(suite);
                }
                spec.extraSuites.forEach(w::u16);
                for (int i = 0; i < spec.bulkSuites; i++) {
                    w.u16(0x0a0a); // GREASE: ignored, just size
                }
            });
            w.vector(1, () -> w.u8(0));
            w.vector(2, () -> extensions(w, spec));
        });
        byte[] message = w.out.toByteArray();
        int bodyLength = message.length - 4;

        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        List<LengthField> fields = new ArrayList<>();
        int[] wireOffsetOf = new int[message.length];
        int at = 0;
        for (int i = 0; at < message.length; i++) {
            // The first record is as full as TLS allows, as real TLS stacks send it: the ClientHello reader of
            // Netty 4.2.12 (pinned, see pom.xml) misreads hellos whose first record is cut shorter.
            int minimum = i == 0 ? MAX_FRAGMENT : 1;
            int size = Math.min(Math.max(minimum, spec.fragments.get(i % spec.fragments.size())), message.length - at);
            size = Math.min(size, MAX_FRAGMENT);
            wire.write(0x16);
            wire.write(spec.recordVersion >>> 8);
            wire.write(spec.recordVersion);
            fields.add(new LengthField(wire.size(), 2));
            wire.write(size >>> 8);
            wire.write(size);
            for (int j = 0; j < size; j++) {
                wireOffsetOf[at + j] = wire.size() + j;
            }
            wire.write(message, at, size);
            at += size;
        }
        for (LengthField field : w.lengths) {
            // A field split over two records is still one field; mutations write its bytes where they landed.
            for (int i = 0; i < field.width(); i++) {
                fields.add(new LengthField(wireOffsetOf[field.offset() + i], 1));
            }
        }
        boolean saneHost = !spec.sni || (spec.host.length >= 1 && spec.host.length <= 255 && indexOf0(spec.host) < 0);
        boolean saneAlpn = spec.alpn == null
                || (!spec.alpn.isEmpty() && spec.alpn.stream().allMatch(p -> p.length >= 1 && p.length <= 255));
        boolean acceptable = saneHost && saneAlpn && bodyLength <= BORINGSSL_MAX_CLIENT_HELLO;
        return new Hello(wire.toByteArray(), spec.sni ? spec.host.clone() : null, bodyLength, List.copyOf(fields),
                acceptable);
    }

    private static int indexOf0(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private static void extensions(Writer w, Spec spec) {
        List<Runnable> all = new ArrayList<>();
        if (spec.sni) {
            all.add(() -> extension(w, SERVER_NAME, () -> w.vector(2, () -> {
                w.u8(0); // host_name
                w.vector(2, () -> w.bytes(spec.host));
            })));
        }
        all.add(() -> extension(w, SUPPORTED_VERSIONS, () -> w.vector(1, () -> {
            w.u16(0x0304);
            w.u16(0x0303);
        })));
        all.add(() -> extension(w, SUPPORTED_GROUPS, () -> w.vector(2, () -> {
            w.u16(0x001d);
            w.u16(0x0017);
        })));
        // Without a share the server asks for one (HelloRetryRequest, also a ServerHello); without the extension
        // at all BoringSSL refuses a TLS 1.3 hello that lists supported_groups (RFC 8446 section 9.2).
        all.add(() -> extension(w, KEY_SHARE, () -> w.vector(2, () -> {
            if (spec.keyShare) {
                w.u16(0x001d);
                w.vector(2, () -> w.bytes(X25519_SHARE));
            }
        })));
        all.add(() -> extension(w, SIGNATURE_ALGORITHMS, () -> w.vector(2, () -> {
            w.u16(0x0403);
            w.u16(0x0804);
            w.u16(0x0401);
        })));
        all.add(() -> extension(w, EC_POINT_FORMATS, () -> w.vector(1, () -> w.u8(0))));
        if (spec.alpn != null) {
            all.add(() -> extension(w, ALPN, () -> w.vector(2, () -> spec.alpn.forEach(
                    p -> w.vector(1, () -> w.bytes(p))))));
        }
        for (Tuple.Tuple2<Integer, byte[]> extra : spec.unknown) {
            all.add(() -> extension(w, extra.get1(), () -> w.bytes(extra.get2())));
        }
        // Reorder: every extension may come anywhere (none here is pre_shared_key, which must be last).
        List<Runnable> ordered = new ArrayList<>(all);
        for (int i = 0; i < spec.order.size() && ordered.size() > 1; i++) {
            int from = Math.floorMod(spec.order.get(i), ordered.size());
            ordered.add(ordered.remove(from));
        }
        ordered.forEach(Runnable::run);
        if (spec.padding >= 0) {
            extension(w, PADDING, () -> w.bytes(new byte[spec.padding]));
        }
    }

    private static void extension(Writer w, int type, Runnable data) {
        w.u16(type);
        w.vector(2, data);
    }

    /** Server names: the routable one in any case, other labels, other domains, odd text, and arbitrary bytes. */
    static Arbitrary<byte[]> hosts() {
        Arbitrary<String> label = Arbitraries.strings().withCharRange('a', 'z').numeric().withChars('-')
                .ofMinLength(1).ofMaxLength(63);
        Arbitrary<String> names = Arbitraries.oneOf(
                Arbitraries.of("app1.localhost", "APP1.LocalHost", "app1.localhost.", "084604f6.localhost",
                        "localhost", ".localhost", "app1..localhost", "a.app1.localhost", "app1.localhost.evil",
                        "127.0.0.1", "::1", "app1.localhost\u0000.evil", "*.localhost", "xn--app1-.localhost"),
                label.map(l -> l + ".localhost"),
                label.list().ofMinSize(1).ofMaxSize(5).map(l -> String.join(".", l)),
                Arbitraries.strings().ascii().ofMaxLength(80));
        Arbitrary<String> routable = Arbitraries.of("app1.localhost", "APP1.LocalHost", "app1.localhost.");
        return Arbitraries.frequencyOf(
                Tuple.of(3, routable.map(n -> n.getBytes(StandardCharsets.US_ASCII))),
                Tuple.of(6, names.map(n -> n.getBytes(StandardCharsets.ISO_8859_1))),
                Tuple.of(2, Arbitraries.bytes().array(byte[].class).ofMaxSize(300)),
                Tuple.of(1, Arbitraries.of(new byte[0], new byte[256], "x".repeat(1000).getBytes(
                        StandardCharsets.US_ASCII))));
    }

    /** ALPN lists: absent, the usual protocols, or odd ones (empty names make BoringSSL refuse the hello). */
    static Arbitrary<List<byte[]>> alpn() {
        Arbitrary<byte[]> protocol = Arbitraries.oneOf(
                Arbitraries.of("h2", "http/1.1", "postgresql", "redis", "kafka")
                        .map(p -> p.getBytes(StandardCharsets.US_ASCII)),
                Arbitraries.bytes().array(byte[].class).ofMinSize(0).ofMaxSize(20));
        return protocol.list().ofMaxSize(4).injectNull(0.4);
    }

    /** Extensions BoringSSL ignores: GREASE values (RFC 8701) and unassigned code points. */
    static Arbitrary<List<Tuple.Tuple2<Integer, byte[]>>> unknownExtensions() {
        Arbitrary<Integer> type = Arbitraries.oneOf(
                Arbitraries.integers().between(0, 15).map(i -> 0x0a0a + 0x1010 * i),
                Arbitraries.integers().between(0xfa00, 0xfc00));
        return Combinators.combine(type, Arbitraries.bytes().array(byte[].class).ofMaxSize(40))
                .as(Tuple::of).list().ofMaxSize(3).uniqueElements(t -> t.get1());
    }

    /** Valid ClientHellos of every shape: up to 20 KiB and more (padding), over one or many records. */
    static Arbitrary<Hello> hellos() {
        return hellos(Arbitraries.frequencyOf(
                Tuple.of(5, Arbitraries.just(-1)),
                Tuple.of(3, Arbitraries.integers().between(0, 2_000)),
                Tuple.of(2, Arbitraries.integers().between(14_000, 22_000)),
                Tuple.of(1, Arbitraries.integers().between(60_000, MAX_PADDING))));
    }

    /** Hellos of a few hundred bytes, for properties that run once per byte. */
    static Arbitrary<Hello> smallHellos() {
        return hellos(Arbitraries.of(-1, 0, 1, 50), hosts().filter(host -> host.length <= 80), Arbitraries.just(0));
    }

    private static Arbitrary<Hello> hellos(Arbitrary<Integer> padding) {
        // Beyond the extensions block's 64 KiB only the cipher suites can make a hello larger.
        return hellos(padding, hosts(), Arbitraries.frequency(Tuple.of(19, 0), Tuple.of(1, 3_000)));
    }

    private static Arbitrary<Hello> hellos(Arbitrary<Integer> padding, Arbitrary<byte[]> hosts,
            Arbitrary<Integer> bulkSuites) {
        Arbitrary<List<Integer>> anyFragments = Arbitraries.oneOf(
                Arbitraries.just(List.of(MAX_FRAGMENT)),
                Arbitraries.integers().between(1, 64).list().ofMinSize(1).ofMaxSize(6),
                Arbitraries.integers().between(1, MAX_FRAGMENT).list().ofMinSize(1).ofMaxSize(4));
        // Thousands of tiny records cost much under the PARANOID leak detector and find nothing new.
        Arbitrary<List<Integer>> bigFragments = Arbitraries.integers().between(512, MAX_FRAGMENT).list()
                .ofMinSize(1).ofMaxSize(4);
        return padding.flatMap(pad -> Builders.withBuilder(() -> new Spec().padding(pad))
                .use(hosts).in(Spec::host)
                .use(Arbitraries.frequency(Tuple.of(9, true), Tuple.of(1, false))).in(Spec::sni)
                .use(Arbitraries.bytes().array(byte[].class).ofMaxSize(32)).in(Spec::sessionId)
                .use(Arbitraries.integers().between(0, 0xffff).list().ofMaxSize(20)).in(Spec::extraSuites)
                .use(alpn()).in(Spec::alpn)
                .use(bulkSuites).in(Spec::bulkSuites)
                .use(unknownExtensions()).in(Spec::unknown)
                .use(Arbitraries.integers().list().ofMaxSize(8)).in(Spec::order)
                .use(pad > 2_000 ? bigFragments : anyFragments).in(Spec::fragments)
                .use(Arbitraries.of(0x0301, 0x0303)).in(Spec::recordVersion)
                .use(Arbitraries.frequency(Tuple.of(9, true), Tuple.of(1, false))).in(Spec::keyShare)
                .build(ClientHellos::build));
    }

    /** One way of damaging a hello. */
    enum Damage { TRUNCATE, FLIP_BITS, LIE_ABOUT_A_LENGTH, INSERT, DELETE, APPEND, REPLACE_ALL }

    record Mutation(Damage damage, int position, int value, byte[] bytes) {
        byte[] apply(Hello hello, byte[] wire) {
            int length = wire.length;
            int at = length == 0 ? 0 : Math.floorMod(position, length);
            return switch (damage) {
                case TRUNCATE -> Arrays.copyOf(wire, at);
                case FLIP_BITS -> {
                    byte[] out = wire.clone();
                    for (int i = 0; i < Math.max(1, bytes.length % 8) && length > 0; i++) {
                        out[Math.floorMod(position + value * i, length)] ^= (byte) (1 << Math.floorMod(value + i, 8));
                    }
                    yield out;
                }
                case LIE_ABOUT_A_LENGTH -> {
                    byte[] out = wire.clone();
                    LengthField field = hello.lengthFields().get(Math.floorMod(position, hello.lengthFields().size()));
                    if (field.offset() + field.width() <= length) {
                        int lie = switch (Math.floorMod(value, 5)) {
                            case 0 -> 0;
                            case 1 -> 0xffff;
                            case 2 -> readLength(out, field) + 1;
                            case 3 -> readLength(out, field) - 1;
                            default -> value >>> 8;
                        };
                        for (int i = 0; i < field.width(); i++) {
                            out[field.offset() + i] = (byte) (lie >>> (8 * (field.width() - 1 - i)));
                        }
                    }
                    yield out;
                }
                case INSERT -> {
                    byte[] out = new byte[length + bytes.length];
                    System.arraycopy(wire, 0, out, 0, at);
                    System.arraycopy(bytes, 0, out, at, bytes.length);
                    System.arraycopy(wire, at, out, at + bytes.length, length - at);
                    yield out;
                }
                case DELETE -> {
                    int count = Math.min(length - at, 1 + Math.floorMod(value, 64));
                    byte[] out = new byte[length - count];
                    System.arraycopy(wire, 0, out, 0, at);
                    System.arraycopy(wire, at + count, out, at, length - at - count);
                    yield out;
                }
                case APPEND -> {
                    byte[] out = Arrays.copyOf(wire, length + bytes.length);
                    System.arraycopy(bytes, 0, out, length, bytes.length);
                    yield out;
                }
                case REPLACE_ALL -> {
                    // Keep a plausible record header now and then, so the random bytes reach the hello parser.
                    byte[] out = bytes.clone();
                    if (value % 2 == 0 && out.length >= 5) {
                        out[0] = 0x16;
                        out[1] = 0x03;
                    }
                    yield out;
                }
            };
        }

        private static int readLength(byte[] wire, LengthField field) {
            int v = 0;
            for (int i = 0; i < field.width(); i++) {
                v = (v << 8) | (wire[field.offset() + i] & 0xff);
            }
            return v;
        }
    }

    static Arbitrary<Mutation> mutations() {
        return Combinators.combine(Arbitraries.of(Damage.class), Arbitraries.integers(), Arbitraries.integers(),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(300)).as(Mutation::new);
    }

    /** Valid hellos with one to three mutations applied in turn. */
    static Arbitrary<byte[]> mutatedHellos() {
        return Combinators.combine(hellos(), mutations().list().ofMinSize(1).ofMaxSize(3))
                .as((hello, list) -> {
                    byte[] wire = hello.wire();
                    for (Mutation m : list) {
                        wire = m.apply(hello, wire);
                    }
                    return wire;
                });
    }
}

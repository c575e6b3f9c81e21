package io.mergen.forwarder.resolver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mergen.forwarder.DnsGuard;
import io.mergen.forwarder.FuzzTries;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Fuzzes the meta.json reader with arbitrary bytes and with the design's example mutated as text and field by
 * field: it must answer Valid or Invalid, never throw, never resolve a name, and accept only files that name a
 * plain namespace file and an IP literal. Tries: see {@link FuzzTries}.
 */
@AddLifecycleHook(FuzzTries.class)
class MetaFileFuzzTest {
    /** meta.example.json of the design. */
    private static final String EXAMPLE = """
            {
              "id": "084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f",
              "createdAt": "2026-02-10T09:30:00Z",
              "rootfs": "/var/lib/mergen/images/app1.ext4",
              "kernel": "/var/lib/mergen/kernels/vmlinux.bin",
              "ports": [{ "guest": 22, "host": 20022, "protocol": "tcp" }],
              "httpPort": 8080,
              "guestIP": "172.30.0.2",
              "tapName": "tap-084604f6",
              "netns": "mergen-084604f6",
              "metadata": { "name": "billing-api", "owner": { "team": "payments" } },
              "tags": { "app": "app1", "env": "prod" },
              "paths": {
                "configDir": "/etc/mergen/vm.d/084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f",
                "metaPath": "/etc/mergen/vm.d/084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f/meta.json"
              }
            }
            """;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FIELDS = List.of("id", "createdAt", "guestIP", "netns", "httpPort", "tags",
            "metadata", "tags.app", "tags.name", "metadata.name", "metadata.host", "ports", "rootfs");

    @Property
    void arbitraryBytesGiveAnAnswerNotAnException(@ForAll("bytes") byte[] content) {
        check(content);
    }

    @Property
    void mutatedExampleTextGivesAnAnswerNotAnException(@ForAll("mutatedText") String content) {
        check(content.getBytes(StandardCharsets.UTF_8));
    }

    @Property
    void mutatedExampleFieldsGiveAnAnswerNotAnException(@ForAll("mutatedFields") String content) {
        check(content.getBytes(StandardCharsets.UTF_8));
    }

    @Property
    void aHostNameAsGuestIpIsInvalidAndNeverLookedUp(@ForAll("hostNames") String hostName) {
        ObjectNode meta = example();
        meta.put("guestIP", hostName);
        MetaFile.Parsed parsed = check(meta.toString().getBytes(StandardCharsets.UTF_8));

        assertThat(parsed).isInstanceOfSatisfying(MetaFile.Parsed.Invalid.class,
                invalid -> assertThat(invalid.reason()).startsWith("guestIP: "));
    }

    /** The checks every input gets; returns the answer for property-specific ones. */
    private static MetaFile.Parsed check(byte[] content) {
        AtomicReference<MetaFile.Parsed> answer = new AtomicReference<>();
        List<String> lookups = DnsGuard.lookupsDuring(() -> answer.set(MetaFile.parse(content)));
        MetaFile.Parsed parsed = answer.get();

        assertThat(lookups).as("host name lookups").isEmpty();
        assertThat(parsed).isNotNull();
        Statistics.label("answer").collect(parsed.getClass().getSimpleName());
        switch (parsed) {
            case MetaFile.Parsed.Invalid invalid -> assertThat(invalid.reason()).isNotBlank();
            case MetaFile.Parsed.Valid valid -> checkAccepted(content, valid);
        }
        return parsed;
    }

    /** An accepted file names a plain namespace file and an IP literal, exactly as written in it. */
    private static void checkAccepted(byte[] content, MetaFile.Parsed.Valid valid) {
        JsonNode root = readTree(content);
        VmRoute vm = valid.vm();

        String netns = vm.netns();
        assertThat(root.get("netns").textValue()).isEqualTo(netns);
        assertThat(netns).isNotEmpty().isNotIn(".", "..").doesNotContain("/", "\0");
        assertThat(netns.chars().noneMatch(Character::isISOControl)).as("control characters in %s", netns).isTrue();
        assertThat(netns.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);

        String guestIp = root.get("guestIP").textValue();
        assertThat(guestIp).isNotNull();
        assertThat(NetUtil.isValidIpV4Address(guestIp) || NetUtil.isValidIpV6Address(guestIp))
                .as("guestIP %s is an IP literal", guestIp).isTrue();
        assertThat(vm.guestIp().getAddress()).isEqualTo(NetUtil.createByteArrayFromIpAddressString(guestIp));
        assertThat(vm.guestIp().isAnyLocalAddress() || vm.guestIp().isMulticastAddress()).isFalse();

        assertThat(vm.id()).isEqualTo(root.get("id").textValue().strip()).isNotBlank();
        vm.httpPort().ifPresent(port -> assertThat(port).isBetween(1, 65535));
    }

    private static JsonNode readTree(byte[] content) {
        try {
            return JSON.readTree(content);
        } catch (IOException e) {
            throw new UncheckedIOException("accepted, but not JSON to Jackson's defaults", e);
        }
    }

    @Provide
    Arbitrary<byte[]> bytes() {
        Arbitrary<byte[]> anyBytes = Arbitraries.bytes().array(byte[].class).ofMaxSize(2048);
        Arbitrary<byte[]> text = Arbitraries.strings().all().ofMaxLength(512)
                .map(s -> s.getBytes(StandardCharsets.UTF_8));
        Arbitrary<byte[]> exampleBytes = Arbitraries.integers().between(0, 4096).list().ofMaxSize(8)
                .map(flips -> {
                    byte[] bytes = EXAMPLE.getBytes(StandardCharsets.UTF_8);
                    for (int flip : flips) {
                        bytes[flip % bytes.length] ^= (byte) (1 << (flip % 8));
                    }
                    return bytes;
                });
        return Arbitraries.oneOf(anyBytes, text, exampleBytes);
    }

    /** The example with characters deleted, inserted, replaced or duplicated, or cut short. */
    @Provide
    Arbitrary<String> mutatedText() {
        Arbitrary<Character> chars = Arbitraries.oneOf(Arbitraries.of('{', '}', '[', ']', '"', ':', ',', '\\', '0',
                        '-', 'e', '.', ' ', '\n', '\0', '\u2028', '\uD800', '\uFEFF'),
                Arbitraries.chars());
        Arbitrary<Edit> edit = Combinators.combine(Arbitraries.of(EditKind.class),
                Arbitraries.integers().between(0, EXAMPLE.length()), chars).as(Edit::new);
        return edit.list().ofMinSize(1).ofMaxSize(6).map(edits -> {
            StringBuilder text = new StringBuilder(EXAMPLE);
            edits.forEach(e -> e.apply(text));
            return text.toString();
        });
    }

    private enum EditKind { DELETE, INSERT, REPLACE, TRUNCATE, NEST }

    private record Edit(EditKind kind, int at, char c) {
        void apply(StringBuilder text) {
            int i = Math.min(at, text.length());
            switch (kind) {
                case DELETE -> text.delete(i, Math.min(text.length(), i + 1 + c % 8));
                case INSERT -> text.insert(i, c);
                case REPLACE -> {
                    if (i < text.length()) {
                        text.setCharAt(i, c);
                    }
                }
                case TRUNCATE -> text.setLength(i);
                // Deep nesting: Jackson must refuse it with its own exception, not a StackOverflowError.
                case NEST -> text.insert(i, "[".repeat(200 * (1 + c % 10)));
            }
        }
    }

    /** The example with one or more of its fields replaced by any JSON value, or removed. */
    @Provide
    Arbitrary<String> mutatedFields() {
        Arbitrary<FieldEdit> edit = Combinators.combine(Arbitraries.of(FIELDS), jsonValues().injectNull(0.1))
                .as(FieldEdit::new);
        return edit.list().ofMinSize(1).ofMaxSize(4).map(edits -> {
            ObjectNode meta = example();
            edits.forEach(e -> e.apply(meta));
            return meta.toString();
        });
    }

    private record FieldEdit(String path, JsonNode value) {
        void apply(ObjectNode meta) {
            ObjectNode parent = meta;
            String field = path;
            int dot = path.indexOf('.');
            if (dot >= 0) {
                JsonNode outer = meta.get(path.substring(0, dot));
                if (!(outer instanceof ObjectNode object)) {
                    return;
                }
                parent = object;
                field = path.substring(dot + 1);
            }
            if (value == null) {
                parent.remove(field);
            } else {
                parent.set(field, value);
            }
        }
    }

    private static Arbitrary<JsonNode> jsonValues() {
        JsonNodeFactory nodes = JsonNodeFactory.instance;
        Arbitrary<JsonNode> leaves = Arbitraries.oneOf(
                addressLike().map(nodes::textNode),
                Arbitraries.strings().all().ofMaxLength(300).map(nodes::textNode),
                Arbitraries.strings().withChars("né/.").ofLength(256).map(nodes::textNode),
                Arbitraries.integers().map(nodes::numberNode),
                Arbitraries.longs().map(nodes::numberNode),
                Arbitraries.bigIntegers().between(BigInteger.TEN.pow(30).negate(), BigInteger.TEN.pow(30))
                        .map(nodes::numberNode),
                Arbitraries.doubles().map(nodes::numberNode),
                Arbitraries.of(new BigDecimal("1e400"), new BigDecimal("65535.0"), new BigDecimal("-0"),
                        new BigDecimal("8080.5")).map(nodes::numberNode),
                Arbitraries.of(true, false).map(nodes::booleanNode),
                Arbitraries.just(nodes.nullNode()));
        return Arbitraries.recursive(() -> leaves, inner -> Arbitraries.oneOf(
                inner.list().ofMaxSize(4).map(list -> nodes.arrayNode().addAll(list)),
                Arbitraries.maps(Arbitraries.of("app", "name", "host", "hostname", "x"), inner).ofMaxSize(4)
                        .map(map -> {
                            ObjectNode object = nodes.objectNode();
                            map.forEach(object::set);
                            return object;
                        })), 0, 3);
    }

    /** Strings near the edge of what an IP literal is: literals, scoped, bracketed, with ports, names, numbers. */
    private static Arbitrary<String> addressLike() {
        Arbitrary<String> octet = Arbitraries.oneOf(Arbitraries.integers().between(0, 300).map(String::valueOf),
                Arbitraries.of("00", "010", "0x1", "-1", "", " 1", "1 "));
        Arbitrary<String> v4 = octet.list().ofMinSize(1).ofMaxSize(5).map(list -> String.join(".", list));
        Arbitrary<String> hextet = Arbitraries.oneOf(Arbitraries.strings().withChars("0123456789abcdefABCDEF")
                .ofMaxLength(5), Arbitraries.of("", "ffff", "g"));
        Arbitrary<String> v6 = hextet.list().ofMinSize(2).ofMaxSize(9).map(list -> String.join(":", list));
        Arbitrary<String> decorated = Combinators.combine(Arbitraries.oneOf(v4, v6, names()),
                Arbitraries.of("", "%0", "%eth0", "%99999999999", "%-1", ":80", "]", "/24"),
                Arbitraries.of(true, false)).as((address, suffix, brackets) ->
                brackets ? "[" + address + suffix + "]" : address + suffix);
        return Arbitraries.oneOf(v4, v6, decorated, Arbitraries.of("::", "0.0.0.0", "::ffff:10.0.0.1",
                "::ffff:0.0.0.0", "::1", "127.0.0.1", "224.0.0.1", "ff02::1", "fe80::1%1", "1::2:3:4:5:6:7:8"));
    }

    @Provide
    Arbitrary<String> hostNames() {
        return names();
    }

    /** Random host names, so no earlier test can have left them in the JDK's address cache. */
    private static Arbitrary<String> names() {
        Arbitrary<String> label = Arbitraries.strings().withCharRange('a', 'z').numeric().withChars('-')
                .ofMinLength(1).ofMaxLength(20);
        Arbitrary<String> name = label.list().ofMinSize(1).ofMaxSize(4).map(labels -> String.join(".", labels));
        return Arbitraries.oneOf(name, name.map(n -> n + ".localhost"), name.map(n -> n + ".invalid."),
                Arbitraries.of("localhost", "ip6-localhost", "example.com"));
    }

    private static ObjectNode example() {
        return (ObjectNode) readTree(EXAMPLE.getBytes(StandardCharsets.UTF_8));
    }
}

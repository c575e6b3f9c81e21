package io.mergen.forwarder.resolver;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MetaFileTest {

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

    @Test
    void parsesTheExampleAndIgnoresUnknownFields() throws Exception {
        MetaFile.Parsed.Valid valid = valid(EXAMPLE);

        assertThat(valid.vm()).isEqualTo(new VmRoute("084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f",
                Optional.of(Instant.parse("2026-02-10T09:30:00Z")), InetAddress.getByAddress(new byte[] {(byte) 172, 30, 0, 2}),
                "mergen-084604f6", OptionalInt.of(8080)));
        assertThat(valid.names()).containsExactly("app1", "billing-api");
        assertThat(valid.warnings()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            not JSON                 | {"id":                                                          | invalid JSON
            trailing garbage         | {"id":"a","guestIP":"10.0.0.1","netns":"n"}}                    | invalid JSON
            empty file               | ''                                                              | empty file
            top-level array          | [{"id":"a","guestIP":"10.0.0.1","netns":"n"}]                   | top level: ARRAY
            top-level string         | "a"                                                             | top level: STRING
            id missing               | {"guestIP":"10.0.0.1","netns":"n"}                              | id: missing
            id empty                 | {"id":"","guestIP":"10.0.0.1","netns":"n"}                      | id: ""
            id blank                 | {"id":"  ","guestIP":"10.0.0.1","netns":"n"}                    | id: "  "
            id a number              | {"id":42,"guestIP":"10.0.0.1","netns":"n"}                      | id: 42
            id null                  | {"id":null,"guestIP":"10.0.0.1","netns":"n"}                    | id: missing
            guestIP missing          | {"id":"a","netns":"n"}                                          | guestIP: missing
            guestIP a host name      | {"id":"a","guestIP":"example.com","netns":"n"}                  | guestIP: "example.com"
            guestIP localhost        | {"id":"a","guestIP":"localhost","netns":"n"}                    | guestIP: "localhost"
            guestIP with a port      | {"id":"a","guestIP":"10.0.0.1:80","netns":"n"}                  | guestIP: "10.0.0.1:80"
            guestIP a number         | {"id":"a","guestIP":167772161,"netns":"n"}                      | guestIP: 167772161
            guestIP unspecified      | {"id":"a","guestIP":"0.0.0.0","netns":"n"}                      | expected: a unicast address
            guestIP multicast        | {"id":"a","guestIP":"224.0.0.1","netns":"n"}                    | expected: a unicast address
            netns missing            | {"id":"a","guestIP":"10.0.0.1"}                                 | netns: missing
            netns empty              | {"id":"a","guestIP":"10.0.0.1","netns":""}                      | netns: ""
            netns traversal          | {"id":"a","guestIP":"10.0.0.1","netns":"../../proc/1/ns/net"}   | netns: "../../proc/1/ns/net"
            netns absolute           | {"id":"a","guestIP":"10.0.0.1","netns":"/abs"}                  | netns: "/abs"
            netns dot                | {"id":"a","guestIP":"10.0.0.1","netns":"."}                     | netns: "."
            netns dot-dot            | {"id":"a","guestIP":"10.0.0.1","netns":".."}                    | netns: ".."
            netns NUL                | {"id":"a","guestIP":"10.0.0.1","netns":"a\\u0000b"}             | netns: "a\\u0000b"
            netns newline            | {"id":"a","guestIP":"10.0.0.1","netns":"a\\nb"}                 | netns: "a\\nb"
            netns a number           | {"id":"a","guestIP":"10.0.0.1","netns":5}                       | netns: 5
            httpPort zero            | {"id":"a","guestIP":"10.0.0.1","netns":"n","httpPort":0}        | httpPort: 0
            httpPort too big         | {"id":"a","guestIP":"10.0.0.1","netns":"n","httpPort":65536}    | httpPort: 65536
            httpPort negative        | {"id":"a","guestIP":"10.0.0.1","netns":"n","httpPort":-1}       | httpPort: -1
            httpPort a fraction      | {"id":"a","guestIP":"10.0.0.1","netns":"n","httpPort":80.5}     | httpPort: 80.5
            httpPort a string        | {"id":"a","guestIP":"10.0.0.1","netns":"n","httpPort":"8080"}   | httpPort: "8080"
            httpPort huge            | {"id":"a","guestIP":"10.0.0.1","netns":"n","httpPort":4294967376} | httpPort: 4294967376
            tags an array            | {"id":"a","guestIP":"10.0.0.1","netns":"n","tags":["app1"]}     | tags: ["app1"]
            metadata a string        | {"id":"a","guestIP":"10.0.0.1","netns":"n","metadata":"app1"}   | metadata: "app1"
            """)
    void rejects(String description, String json, String reason) {
        MetaFile.Parsed parsed = MetaFile.parse(json.getBytes(StandardCharsets.UTF_8));

        assertThat(parsed).isInstanceOfSatisfying(MetaFile.Parsed.Invalid.class,
                invalid -> assertThat(invalid.reason()).contains(reason));
    }

    @Test
    void rejectsANetnsNameLongerThan255Bytes() {
        assertThat(MetaFile.parse(Metas.meta("a", "\"netns\":\"" + "n".repeat(255) + "\"").getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MetaFile.Parsed.Valid.class);
        assertThat(MetaFile.parse(Metas.meta("a", "\"netns\":\"" + "n".repeat(256) + "\"").getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MetaFile.Parsed.Invalid.class);
        // 128 two-byte characters: 128 chars but 256 bytes, too long for a Linux file name.
        assertThat(MetaFile.parse(Metas.meta("a", "\"netns\":\"" + "é".repeat(128) + "\"").getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MetaFile.Parsed.Invalid.class);
    }

    @Test
    void acceptsIpv6AndBoundaryPorts() {
        assertThat(valid(Metas.meta("a", "\"guestIP\":\"fd00::2\"", "\"httpPort\":65535")).vm())
                .satisfies(vm -> assertThat(vm.guestIp().getHostAddress()).isEqualTo("fd00:0:0:0:0:0:0:2"))
                .satisfies(vm -> assertThat(vm.httpPort()).hasValue(65535));
        assertThat(valid(Metas.meta("a", "\"httpPort\":1")).vm().httpPort()).hasValue(1);
        assertThat(valid(Metas.meta("a", "\"httpPort\":null")).vm().httpPort()).isEmpty();
        assertThat(valid(Metas.meta("a")).vm().httpPort()).isEmpty();
    }

    @Test
    void trimsTheId() {
        assertThat(valid("{\"id\":\"  Abc \",\"guestIP\":\"10.0.0.1\",\"netns\":\"n\"}").vm().id()).isEqualTo("Abc");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            UTC                 | "createdAt":"2026-02-10T09:30:00Z"             | 2026-02-10T09:30:00Z
            offset and nanos    | "createdAt":"2026-02-10T11:30:00.5+02:00"      | 2026-02-10T09:30:00.5Z
            missing             | "env":"x"                                      |
            null                | "createdAt":null                               |
            Go zero time        | "createdAt":"0001-01-01T00:00:00Z"             |
            """)
    void readsCreatedAtWithoutWarnings(String description, String member, String expected) {
        MetaFile.Parsed.Valid valid = valid(Metas.meta("a", member));

        assertThat(valid.vm().createdAt()).isEqualTo(Optional.ofNullable(expected).map(Instant::parse));
        assertThat(valid.warnings()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            not a date      | "createdAt":"yesterday"
            no offset       | "createdAt":"2026-02-10T09:30:00"
            a number        | "createdAt":1739179800
            """)
    void treatsAnUnparseableCreatedAtAsMissingWithAWarning(String description, String member) {
        MetaFile.Parsed.Valid valid = valid(Metas.meta("a", member));

        assertThat(valid.vm().createdAt()).isEmpty();
        assertThat(valid.warnings()).singleElement().asString().startsWith("createdAt:");
    }

    @Test
    void takesNamesFromTagsAndOnlyStringMetadata() {
        MetaFile.Parsed.Valid valid = valid(Metas.meta("a",
                "\"tags\":{\"host\":\"h\",\"hostname\":\"hn\",\"app\":\"ap\",\"name\":\"nm\",\"env\":\"prod\"}",
                "\"metadata\":{\"host\":5,\"hostname\":{\"x\":\"y\"},\"app\":null,\"name\":\"md\",\"owner\":\"o\"}"));

        assertThat(valid.names()).containsExactly("h", "hn", "ap", "nm", "md");
        assertThat(valid.warnings()).isEmpty();
    }

    @Test
    void ignoresANonStringTagWithAWarning() {
        MetaFile.Parsed.Valid valid = valid(Metas.meta("a", "\"tags\":{\"app\":7,\"name\":\"nm\"}"));

        assertThat(valid.names()).containsExactly("nm");
        assertThat(valid.warnings()).singleElement().asString().startsWith("tags.app: 7");
    }

    private static MetaFile.Parsed.Valid valid(String json) {
        MetaFile.Parsed parsed = MetaFile.parse(json.getBytes(StandardCharsets.UTF_8));
        assertThat(parsed).isInstanceOf(MetaFile.Parsed.Valid.class);
        return (MetaFile.Parsed.Valid) parsed;
    }
}

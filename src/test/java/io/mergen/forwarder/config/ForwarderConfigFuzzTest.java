package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mergen.forwarder.DnsGuard;
import io.mergen.forwarder.FuzzTries;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.statistics.Statistics;

/**
 * Fuzzes {@link ForwarderConfig#fromEnvironment} with environments of arbitrary and nearly valid values: it
 * returns a configuration whose listeners round-trip through their text, or throws a ConfigException whose message
 * is one printable line naming the variable; nothing else comes out, and no host name is resolved. Tries: see
 * {@link FuzzTries}.
 */
@AddLifecycleHook(FuzzTries.class)
class ForwarderConfigFuzzTest {

    @Property
    void anEnvironmentGivesAConfigurationOrOneLineNamingTheVariable(@ForAll("environments") Map<String, String> env) {
        AtomicReference<ForwarderConfig> config = new AtomicReference<>();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        List<String> lookups = DnsGuard.lookupsDuring(() -> thrown.set(catchThrowable(() -> {
            ForwarderConfig read = ForwarderConfig.fromEnvironment(env);
            config.set(read);
            read.listeners().forEach(ListenerSpec::bindAddress);
        })));

        assertThat(lookups).as("host name lookups").isEmpty();
        if (config.get() == null) {
            Statistics.label("answer").collect(thrown.get() instanceof ConfigException c ? c.variable() : "?");
            assertThat(thrown.get()).isExactlyInstanceOf(ConfigException.class);
            ConfigException rejected = (ConfigException) thrown.get();
            assertThat(Arrays.stream(EnvVar.values()).map(EnvVar::name)).contains(rejected.variable());
            assertThat(rejected.getMessage()).startsWith(rejected.variable() + "=\"");
            assertOneLine(rejected.getMessage());
            return;
        }
        Statistics.label("answer").collect("accepted");
        assertThat(thrown.get()).isNull();
        ForwarderConfig accepted = config.get();
        assertThat(accepted.listeners()).isNotEmpty().allSatisfy(spec -> {
            assertThat(ListenerSpec.parse(spec.text())).isEqualTo(spec);
            assertThat(accepted.allowedGuestPorts()).contains(spec.guestPort());
        });
        assertThat(accepted.dialTimeout()).isPositive();
        assertThat(accepted.handshakeTimeout()).isPositive();
        assertThat(accepted.idleTimeout()).isPositive();
        assertThat(accepted.shutdownTimeout().isNegative()).isFalse();
        assertThat(accepted.resolverCacheTtl().isNegative()).isFalse();
    }

    /** No character that a terminal or log collector could take for the end of a line, or that is invisible. */
    static void assertOneLine(String message) {
        List<String> offending = message.chars()
                .filter(c -> Character.isISOControl(c)
                        || Character.getType(c) == Character.LINE_SEPARATOR
                        || Character.getType(c) == Character.PARAGRAPH_SEPARATOR
                        || Character.getType(c) == Character.FORMAT)
                .mapToObj(c -> String.format("U+%04X", c))
                .toList();
        assertThat(offending).as("line-breaking or invisible characters in: %s", message).isEmpty();
    }

    /** Any mix of fuzzed variables, or a usable environment with one variable fuzzed, so every reader gets its turn. */
    @Provide
    Arbitrary<Map<String, String>> environments() {
        List<Arbitrary<Map.Entry<String, String>>> fuzzed = Arrays.stream(EnvVar.values())
                .map(v -> Arbitraries.entries(Arbitraries.just(v.name()), valuesFor(v)))
                .toList();
        Arbitrary<Map<String, String>> mixed = Arbitraries.oneOf(fuzzed).list().ofMaxSize(EnvVar.values().length + 2)
                .map(entries -> entries.stream().collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue,
                        (first, second) -> second)));
        // Each variable unset or set to a usable value, then one of them replaced by a fuzzed value.
        List<Arbitrary<String>> usable = Arrays.stream(EnvVar.values())
                .map(v -> Arbitraries.of(usableValues(v)).injectNull(0.5))
                .toList();
        Arbitrary<Map<String, String>> oneOff = Combinators.combine(
                        Combinators.combine(usable).as(ArrayList::new), Arbitraries.oneOf(fuzzed))
                .as((values, off) -> {
                    Map<String, String> env = new HashMap<>();
                    for (int i = 0; i < values.size(); i++) {
                        if (values.get(i) != null) {
                            env.put(EnvVar.values()[i].name(), values.get(i));
                        }
                    }
                    env.put(off.getKey(), off.getValue());
                    return env;
                });
        return Arbitraries.frequencyOf(Tuple.of(1, mixed), Tuple.of(3, oneOff));
    }

    private static List<String> usableValues(EnvVar variable) {
        return switch (variable) {
            case FWD_LISTENERS -> List.of(":443=443", ":8443=443/tls+h2,127.0.0.1:2022=22",
                    "[::1]:5432=5432, 127.0.0.1:6379=6379/raw,");
            case FWD_ALLOWED_GUEST_PORTS -> List.of("22,443,5432,6379,9092", " 443 ,22,5432,6379,9092,,");
            case FWD_DOMAIN_PREFIX -> List.of("", "vm", ".Vm.");
            case FWD_DOMAIN_SUFFIX -> List.of("localhost", "example.com.");
            case FWD_CONFIG_ROOT, FWD_NETNS_ROOT, FWD_TLS_CERT_FILE, FWD_TLS_KEY_FILE -> List.of("/tmp/x", "rel/../y");
            case FWD_TLS_CERTS -> List.of("", "/tmp/a.crt:/tmp/a.key", "a.crt:a.key, /b.crt:/b.key,");
            case FWD_DIAL_TIMEOUT_SECONDS, FWD_HANDSHAKE_TIMEOUT_SECONDS, FWD_IDLE_TIMEOUT_SECONDS ->
                    List.of("1", "60");
            case FWD_RESOLVER_CACHE_TTL_SECONDS, FWD_SHUTDOWN_TIMEOUT_SECONDS -> List.of("0", "15");
            case FWD_MAX_CONNECTIONS, FWD_MAX_CONNECTIONS_PER_VM, FWD_MAX_HANDSHAKES_PER_CLIENT -> List.of("0", "500");
            case FWD_CONNECTION_BUFFER_BYTES -> List.of("1024", "65536");
            case FWD_ADMIN_ADDR -> List.of("", "127.0.0.1:9901", "[::1]:19901");
            case FWD_TLS_CA_CERT_FILE, FWD_TLS_CA_KEY_FILE -> List.of("");
            case FWD_LOG_LEVEL -> List.of("info", "WARNING");
            case FWD_LOG_FORMAT -> List.of("console", "JSON");
            case FWD_TLS_RSA_SIGNER -> List.of("auto", "OpenSSL", "boringssl");
            case FWD_TLS_SESSION_RESUMPTION -> List.of("on", "Off");
        };
    }

    private static Arbitrary<String> valuesFor(EnvVar variable) {
        Arbitrary<String> specific = switch (variable) {
            case FWD_LISTENERS -> ListenerSpecFuzzTest.entries(Arbitraries.frequencyOf(
                            Tuple.of(4, Arbitraries.of("22", "443", "5432", "6379", "9092")
                                    .map(p -> new ListenerSpecFuzzTest.Part(p, true))),
                            Tuple.of(1, ListenerSpecFuzzTest.ports())))
                    .map(ListenerSpecFuzzTest.Entry::text)
                    .list().ofMinSize(1).ofMaxSize(4)
                    .flatMap(entries -> Arbitraries.of(",", ", ", ",,", " , ").map(sep -> String.join(sep, entries)));
            case FWD_ALLOWED_GUEST_PORTS -> Arbitraries.oneOf(
                            Arbitraries.integers().between(1, 65535).map(String::valueOf),
                            Arbitraries.of("443", "22", "5432", "0", "65536", "-1", "x", "", " 9092 ", "4\u200b43"))
                    .list().ofMinSize(1).ofMaxSize(6).map(ports -> String.join(",", ports));
            case FWD_DOMAIN_PREFIX, FWD_DOMAIN_SUFFIX -> Arbitraries.oneOf(
                    Arbitraries.strings().withCharRange('a', 'z').withChars("-.0 ").ofMaxLength(70),
                    Arbitraries.strings().withChars("aZ-.").ofMinLength(240).ofMaxLength(260),
                    Arbitraries.of("localhost", "LOCALHOST.", " vm.example.com ", "xn--bcher-kva.example",
                            "\u212aelvin.example", "a..b", "-a.b", "a\u0000b", "\u2028", "..."));
            case FWD_CONFIG_ROOT, FWD_NETNS_ROOT, FWD_TLS_CERT_FILE, FWD_TLS_KEY_FILE -> Arbitraries.oneOf(
                    Arbitraries.strings().withChars("/.a\u0000 \n\u00e9").ofMaxLength(30),
                    Arbitraries.of("/etc/mergen/vm.d", "relative/dir", "/a/../b/./c//", "/\u0000"));
            case FWD_TLS_CERTS -> Arbitraries.oneOf(
                            Arbitraries.strings().withChars("/.a:, \u0000\n").ofMaxLength(30),
                            Arbitraries.of("/a.crt:/a.key", "a:b:c", ":", "/a.crt:", ":/a.key", "/\u0000:/k", "x"))
                    .list().ofMinSize(1).ofMaxSize(3).map(entries -> String.join(",", entries));
            case FWD_DIAL_TIMEOUT_SECONDS, FWD_RESOLVER_CACHE_TTL_SECONDS, FWD_SHUTDOWN_TIMEOUT_SECONDS,
                 FWD_HANDSHAKE_TIMEOUT_SECONDS, FWD_IDLE_TIMEOUT_SECONDS -> Arbitraries.oneOf(
                    Arbitraries.longs().map(String::valueOf),
                    Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(30),
                    Arbitraries.of("0", "1", "2147483", "2147484", "1.5", "-0", "+5", "1e3", "\u0663", "5s",
                            " 5 ", "\t\n5\u2029", "99999999999999999999999999"));
            case FWD_MAX_CONNECTIONS, FWD_MAX_CONNECTIONS_PER_VM, FWD_MAX_HANDSHAKES_PER_CLIENT,
                 FWD_CONNECTION_BUFFER_BYTES -> Arbitraries.oneOf(
                    Arbitraries.longs().map(String::valueOf),
                    Arbitraries.of("0", "1023", "1024", "67108864", "67108865", "2147483647", "2147483648", "64k",
                            "-1", "1e3"));
            case FWD_TLS_CA_CERT_FILE, FWD_TLS_CA_KEY_FILE -> Arbitraries.of("", "/ca.pem", "rel/ca.key", "/\u0000");
            case FWD_ADMIN_ADDR -> Arbitraries.of("", "127.0.0.1:9901", ":9901", "[::1]:1", "localhost:0",
                    "example.com:80", "[::1]", "1.2.3.4:70000", "127.0.0.1:9901\n");
            case FWD_LOG_LEVEL -> Arbitraries.of("trace", "DEBUG", "Info", "warn", "WARNING", "error", "fatal",
                    "off", "\u0130NFO", "inf\u0131", "debug\n");
            case FWD_LOG_FORMAT -> Arbitraries.of("console", "JSON", "Json", "text", "js\u00f6n", "json\r\n");
            case FWD_TLS_SESSION_RESUMPTION -> Arbitraries.of("on", "off", "ON", "true", "0", "o n", "off\n");
            case FWD_TLS_RSA_SIGNER -> Arbitraries.of("auto", "openssl", "BoringSSL", "libcrypto", "open ssl",
                    "\u0130", "auto\n");
        };
        Arbitrary<String> anything = Arbitraries.strings().all().ofMaxLength(40);
        Arbitrary<String> blank = Arbitraries.of("", " ", "\t", "\u2003", "\n");
        return Arbitraries.frequencyOf(
                Tuple.of(6, specific),
                Tuple.of(2, anything),
                Tuple.of(1, blank));
    }
}

package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ForwarderConfigTest {

    private static final List<String> VARIABLES = List.of(
            "FWD_LISTENERS", "FWD_ALLOWED_GUEST_PORTS", "FWD_DOMAIN_PREFIX", "FWD_DOMAIN_SUFFIX",
            "FWD_CONFIG_ROOT", "FWD_NETNS_ROOT", "FWD_TLS_CERT_FILE", "FWD_TLS_KEY_FILE",
            "FWD_TLS_CERTS", "FWD_TLS_CA_CERT_FILE", "FWD_TLS_CA_KEY_FILE", "FWD_TLS_RSA_SIGNER", "FWD_TLS_SESSION_RESUMPTION",
            "FWD_DIAL_TIMEOUT_SECONDS", "FWD_RESOLVER_CACHE_TTL_SECONDS",
            "FWD_SHUTDOWN_TIMEOUT_SECONDS",
            "FWD_HANDSHAKE_TIMEOUT_SECONDS", "FWD_IDLE_TIMEOUT_SECONDS", "FWD_MAX_CONNECTIONS",
            "FWD_MAX_CONNECTIONS_PER_VM", "FWD_MAX_HANDSHAKES_PER_CLIENT", "FWD_CONNECTION_BUFFER_BYTES",
            "FWD_ADMIN_ADDR", "FWD_LOG_LEVEL", "FWD_LOG_FORMAT");

    private static final String CERT_PAIRS_EXPECTED = " (expected: cert.pem:key.pem[,cert2.pem:key2.pem...])";

    private static final String DEFAULT_LISTENERS = ":443=443,:2022=22,:5432=5432,:6379=6379,:9092=9092";

    private static final ForwarderConfig DEFAULTS = new ForwarderConfig(
            List.of(
                    new ListenerSpec("", 443, 443, ListenerMode.TLS),
                    new ListenerSpec("", 2022, 22, ListenerMode.RAW),
                    new ListenerSpec("", 5432, 5432, ListenerMode.TLS),
                    new ListenerSpec("", 6379, 6379, ListenerMode.TLS),
                    new ListenerSpec("", 9092, 9092, ListenerMode.TLS)),
            Set.of(22, 443, 5432, 6379, 9092),
            new DomainRule("", "localhost"),
            Path.of("/etc/mergen/vm.d"),
            List.of(Path.of("/run/netns"), Path.of("/var/run/netns")),
            Path.of("/etc/mergen/certs/wildcard.localhost.crt"),
            Path.of("/etc/mergen/certs/wildcard.localhost.key"),
            List.of(),
            Optional.empty(),
            RsaSigner.AUTO,
            true,
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            Duration.ofSeconds(15),
            Duration.ofSeconds(10),
            Duration.ofSeconds(3600),
            new Limits(0, 0, 1000, 65536),
            Optional.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 9901)),
            "debug",
            LogFormat.CONSOLE);

    @Test
    void emptyEnvironmentGivesTheDocumentedDefaults() {
        ForwarderConfig config = ForwarderConfig.fromEnvironment(Map.of());

        assertThat(config).isEqualTo(DEFAULTS);
        assertThat(config.listeners()).extracting(ListenerSpec::text)
                .containsExactly(":443=443", ":2022=22/raw", ":5432=5432", ":6379=6379", ":9092=9092");
        assertThat(config.allowedGuestPorts()).containsExactly(22, 443, 5432, 6379, 9092);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  ", "\t"})
    void emptyOrBlankValuesTakeTheDefaults(String blank) {
        Map<String, String> env = new HashMap<>();
        for (String variable : VARIABLES) {
            // An empty suffix is an error; an empty admin address turns the endpoint off (tested below).
            if (!variable.equals("FWD_DOMAIN_SUFFIX") && !variable.equals("FWD_ADMIN_ADDR")) {
                env.put(variable, blank);
            }
        }
        env.put("UNRELATED", "x");

        assertThat(ForwarderConfig.fromEnvironment(env)).isEqualTo(DEFAULTS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  "})
    void emptyAdminAddressTurnsTheEndpointOff(String blank) {
        assertThat(ForwarderConfig.fromEnvironment(Map.of("FWD_ADMIN_ADDR", blank)).adminAddress()).isEmpty();
        assertThat(ForwarderConfig.fromEnvironment(Map.of()).adminAddress()).isPresent();
    }

    @Test
    void readsEveryVariable() throws Exception {
        Map<String, String> env = Map.ofEntries(
                Map.entry("FWD_LISTENERS", " 127.0.0.1:8443=443 , [::1]:8022=22/tls,:5433=5432/raw "),
                Map.entry("FWD_ALLOWED_GUEST_PORTS", "5432, 443,22,443"),
                Map.entry("FWD_DOMAIN_PREFIX", "VM"),
                Map.entry("FWD_DOMAIN_SUFFIX", "Example.com."),
                Map.entry("FWD_CONFIG_ROOT", "/srv/vm.d/"),
                Map.entry("FWD_NETNS_ROOT", "/srv/netns"),
                Map.entry("FWD_TLS_CERT_FILE", "/srv/tls/cert.pem"),
                Map.entry("FWD_TLS_KEY_FILE", "/srv/tls/key.pem"),
                Map.entry("FWD_TLS_CERTS", " /srv/a.crt:/srv/a.key ,, rel/b.crt : /srv/x/../b.key,"),
                Map.entry("FWD_TLS_CA_CERT_FILE", "/srv/ca/ca.crt"),
                Map.entry("FWD_TLS_CA_KEY_FILE", "/srv/ca/ca.key"),
                Map.entry("FWD_TLS_RSA_SIGNER", "BoringSSL"),
                Map.entry("FWD_TLS_SESSION_RESUMPTION", "OFF"),
                Map.entry("FWD_DIAL_TIMEOUT_SECONDS", "2"),
                Map.entry("FWD_RESOLVER_CACHE_TTL_SECONDS", "0"),
                Map.entry("FWD_SHUTDOWN_TIMEOUT_SECONDS", "0"),
                Map.entry("FWD_HANDSHAKE_TIMEOUT_SECONDS", "3"),
                Map.entry("FWD_IDLE_TIMEOUT_SECONDS", "60"),
                Map.entry("FWD_MAX_CONNECTIONS", "10000"),
                Map.entry("FWD_MAX_CONNECTIONS_PER_VM", "500"),
                Map.entry("FWD_MAX_HANDSHAKES_PER_CLIENT", "0"),
                Map.entry("FWD_CONNECTION_BUFFER_BYTES", "131072"),
                Map.entry("FWD_ADMIN_ADDR", "[::1]:19901"),
                Map.entry("FWD_LOG_LEVEL", "Warning"),
                Map.entry("FWD_LOG_FORMAT", "JSON"));

        ForwarderConfig config = ForwarderConfig.fromEnvironment(env);

        assertThat(config.listeners()).extracting(ListenerSpec::text)
                .containsExactly("127.0.0.1:8443=443", "[::1]:8022=22/tls", ":5433=5432/raw");
        assertThat(config.allowedGuestPorts()).containsExactly(22, 443, 5432);
        assertThat(config.domain()).isEqualTo(new DomainRule("vm", "example.com"));
        assertThat(config.configRoot()).isEqualTo(Path.of("/srv/vm.d"));
        assertThat(config.netnsRoots())
                .containsExactly(Path.of("/srv/netns"), Path.of("/run/netns"), Path.of("/var/run/netns"));
        assertThat(config.tlsCertFile()).isEqualTo(Path.of("/srv/tls/cert.pem"));
        assertThat(config.tlsKeyFile()).isEqualTo(Path.of("/srv/tls/key.pem"));
        assertThat(config.localCa()).contains(new CertPair(Path.of("/srv/ca/ca.crt"), Path.of("/srv/ca/ca.key")));
        assertThat(config.tlsCerts()).containsExactly(
                new CertPair(Path.of("/srv/a.crt"), Path.of("/srv/a.key")),
                new CertPair(Path.of("rel/b.crt"), Path.of("/srv/b.key")));
        assertThat(config.dialTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.resolverCacheTtl()).isEqualTo(Duration.ZERO);
        assertThat(config.shutdownTimeout()).isEqualTo(Duration.ZERO);
        assertThat(config.limits()).isEqualTo(new Limits(10000, 500, 0, 131072));
        assertThat(config.adminAddress()).contains(new InetSocketAddress(
                InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 19901));
        assertThat(config.handshakeTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(config.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.logLevel()).isEqualTo("warn");
        assertThat(config.logFormat()).isEqualTo(LogFormat.JSON);
        assertThat(config.rsaSigner()).isEqualTo(RsaSigner.BORINGSSL);
        assertThat(config.sessionResumption()).isFalse();
    }

    @Test
    void defaultCertificateFilesFollowTheDomain() {
        ForwarderConfig config = ForwarderConfig.fromEnvironment(
                Map.of("FWD_DOMAIN_PREFIX", " .VM. ", "FWD_DOMAIN_SUFFIX", "example.com"));

        assertThat(config.domain().domain()).isEqualTo("vm.example.com");
        assertThat(config.tlsCertFile()).isEqualTo(Path.of("/etc/mergen/certs/wildcard.vm.example.com.crt"));
        assertThat(config.tlsKeyFile()).isEqualTo(Path.of("/etc/mergen/certs/wildcard.vm.example.com.key"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/run/netns      | /run/netns, /var/run/netns",
            "/run/netns/     | /run/netns, /var/run/netns",
            "/var/run/netns  | /var/run/netns, /run/netns",
            "/srv/netns      | /srv/netns, /run/netns, /var/run/netns",
    })
    void netnsRootsKeepOrderWithoutDuplicates(String root, String roots) {
        ForwarderConfig config = ForwarderConfig.fromEnvironment(Map.of("FWD_NETNS_ROOT", root));

        assertThat(config.netnsRoots()).containsExactly(
                Stream.of(roots.split(", ")).map(Path::of).toArray(Path[]::new));
    }

    @ParameterizedTest
    @CsvSource({
            "trace, trace", "DEBUG, debug", "Info, info", "warn, warn", "WARNING, warn", "error, error",
    })
    void normalisesLogLevels(String level, String normal) {
        assertThat(ForwarderConfig.fromEnvironment(Map.of("FWD_LOG_LEVEL", level)).logLevel()).isEqualTo(normal);
    }

    @ParameterizedTest
    @CsvSource({"console, CONSOLE", "Console, CONSOLE", "json, JSON", "JSON, JSON"})
    void parsesLogFormats(String format, LogFormat expected) {
        assertThat(ForwarderConfig.fromEnvironment(Map.of("FWD_LOG_FORMAT", format)).logFormat())
                .isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"auto, AUTO", "OpenSSL, OPENSSL", "openssl, OPENSSL", "boringssl, BORINGSSL"})
    void parsesRsaSigners(String signer, RsaSigner expected) {
        assertThat(ForwarderConfig.fromEnvironment(Map.of("FWD_TLS_RSA_SIGNER", signer)).rsaSigner())
                .isEqualTo(expected);
    }

    static Stream<Arguments> badValues() {
        List<Arguments> rows = new ArrayList<>(List.of(
                bad("FWD_LISTENERS", ":443",
                        "missing '=' (expected: [host]:port=guestPort[/tls|/raw][+h2][+proxy])"),
                bad("FWD_LISTENERS", ":0=443",
                        "listen port \"0\": too small (expected: 1..65535)"),
                bad("FWD_LISTENERS", ":70000=443",
                        "listen port \"70000\": too large (expected: 1..65535)"),
                bad("FWD_LISTENERS", ":https=443",
                        "listen port \"https\": not a plain decimal integer (expected: 1..65535)"),
                bad("FWD_LISTENERS", ":443=abc",
                        "guest port \"abc\": not a plain decimal integer (expected: 1..65535)"),
                bad("FWD_LISTENERS", "vm.example.com:443=443",
                        "host \"vm.example.com\" is not an IP address or localhost (host names are not resolved)"),
                bad("FWD_LISTENERS", "[::1:443=443",
                        "missing ']' after the IPv6 address (expected: [::1]:8443=443)"),
                bad("FWD_LISTENERS", "::1:443=443",
                        "IPv6 host \"::1\" must be in brackets (expected: [::1]:8443=443)"),
                bad("FWD_LISTENERS", ":443=443/udp",
                        "unknown mode \"udp\" (expected: tls or raw)"),
                bad("FWD_LISTENERS", ":443=80",
                        "guest port 80 is not in FWD_ALLOWED_GUEST_PORTS (22,443,5432,6379,9092)"),
                bad("FWD_LISTENERS", ":443=443,:443=5432",
                        "entries \":443=443\" and \":443=5432\" both bind port 443 (a wildcard host binds every"
                                + " address)"),
                bad("FWD_LISTENERS", "127.0.0.1:6379=6379,:6379=6379",
                        "entries \"127.0.0.1:6379=6379\" and \":6379=6379\" both bind port 6379 (a wildcard host"
                                + " binds every address)"),
                bad("FWD_LISTENERS", "127.0.0.1:6379=6379,localhost:6379=6379",
                        "entries \"127.0.0.1:6379=6379\" and \"localhost:6379=6379\" both bind port 6379 on the"
                                + " same address"),
                bad("FWD_LISTENERS", ",",
                        "no listener (expected: at least one [host]:port=guestPort[/tls|/raw][+h2][+proxy] entry)"),
                arguments(Map.of("FWD_ALLOWED_GUEST_PORTS", "443"), "FWD_LISTENERS", DEFAULT_LISTENERS,
                        "FWD_LISTENERS=\"" + DEFAULT_LISTENERS + "\": entry \":2022=22\": guest port 22 is not in"
                                + " FWD_ALLOWED_GUEST_PORTS (443) (the default; FWD_LISTENERS is not set)"),
                bad("FWD_ALLOWED_GUEST_PORTS", "22,abc",
                        "port \"abc\": not a plain decimal integer (expected: 1..65535)"),
                bad("FWD_ALLOWED_GUEST_PORTS", "0",
                        "port \"0\": too small (expected: 1..65535)"),
                bad("FWD_ALLOWED_GUEST_PORTS", "443,65536",
                        "port \"65536\": too large (expected: 1..65535)"),
                bad("FWD_ALLOWED_GUEST_PORTS", "-22",
                        "port \"-22\": negative (expected: 1..65535)"),
                bad("FWD_ALLOWED_GUEST_PORTS", ",",
                        "no port (expected: comma-separated ports 1..65535)"),
                bad("FWD_DOMAIN_SUFFIX", "",
                        "empty after trimming blanks and dots (expected: a domain such as localhost or example.com)"),
                bad("FWD_DOMAIN_SUFFIX", " . ",
                        "empty after trimming blanks and dots (expected: a domain such as localhost or example.com)"),
                bad("FWD_DOMAIN_SUFFIX", "exa_mple.com",
                        "label \"exa_mple\" is not 1..63 letters, digits and inner hyphens"),
                bad("FWD_DOMAIN_PREFIX", "v..m",
                        "empty label in \"v..m\""),
                arguments(Map.of("FWD_TLS_CA_CERT_FILE", "/ca.crt"), "FWD_TLS_CA_KEY_FILE", "",
                        "FWD_TLS_CA_KEY_FILE=\"\": empty while FWD_TLS_CA_CERT_FILE is set (expected: both or neither)"),
                bad("FWD_TLS_CERTS", "/a.crt:/a.key,/b.crt",
                        "entry \"/b.crt\": missing ':'" + CERT_PAIRS_EXPECTED),
                bad("FWD_TLS_CERTS", "/a.crt:/a.key:/b.key",
                        "entry \"/a.crt:/a.key:/b.key\": more than one ':'" + CERT_PAIRS_EXPECTED),
                bad("FWD_TLS_CERTS", " :/a.key",
                        "entry \":/a.key\": empty certificate path" + CERT_PAIRS_EXPECTED),
                bad("FWD_TLS_CERTS", "/a.crt: ",
                        "entry \"/a.crt:\": empty key path" + CERT_PAIRS_EXPECTED),
                bad("FWD_TLS_CERTS", "/a.crt:/a.key,/a.crt:/x/../a.key",
                        "entry \"/a.crt:/x/../a.key\": listed twice"),
                bad("FWD_TLS_CERTS", "/a.crt:/a\u0000.key",
                        "entry \"/a.crt:/a\\u0000.key\": not a valid path: Nul character not allowed"),
                bad("FWD_CONFIG_ROOT", "/etc/\u0000vm.d",
                        "not a valid path: Nul character not allowed"),
                bad("FWD_LOG_LEVEL", " verbose ",
                        "unknown log level (expected: trace, debug, info, warn, warning or error)"),
                bad("FWD_LOG_FORMAT", "xml",
                        "unknown log format \"xml\" (expected: console or json)"),
                bad("FWD_TLS_RSA_SIGNER", "libcrypto",
                        "unknown RSA signer \"libcrypto\" (expected: auto, openssl or boringssl)"),
                bad("FWD_TLS_SESSION_RESUMPTION", "yes", "unknown value (expected: on or off)")));
        for (String variable : List.of("FWD_DIAL_TIMEOUT_SECONDS", "FWD_HANDSHAKE_TIMEOUT_SECONDS",
                "FWD_IDLE_TIMEOUT_SECONDS")) {
            rows.addAll(badSeconds(variable, "1"));
            rows.add(bad(variable, "0", "too small (expected: 1..2147483)"));
        }
        for (String variable : List.of("FWD_RESOLVER_CACHE_TTL_SECONDS", "FWD_SHUTDOWN_TIMEOUT_SECONDS")) {
            rows.addAll(badSeconds(variable, "0"));
        }
        for (String variable : List.of("FWD_MAX_CONNECTIONS", "FWD_MAX_CONNECTIONS_PER_VM",
                "FWD_MAX_HANDSHAKES_PER_CLIENT")) {
            rows.add(bad(variable, "-5", "negative (expected: 0..2147483647)"));
            rows.add(bad(variable, "lots", "not a plain decimal integer (expected: 0..2147483647)"));
            rows.add(bad(variable, "2147483648", "too large (expected: 0..2147483647)"));
        }
        rows.add(bad("FWD_CONNECTION_BUFFER_BYTES", "512", "too small (expected: 1024..67108864)"));
        rows.add(bad("FWD_ADMIN_ADDR", "example.com:9901",
                "host \"example.com\" is not an IP address or localhost (host names are not resolved)"));
        rows.add(bad("FWD_ADMIN_ADDR", "127.0.0.1:99999", "port \"99999\": too large (expected: 1..65535)"));
        rows.add(bad("FWD_CONNECTION_BUFFER_BYTES", "64k", "not a plain decimal integer (expected: 1024..67108864)"));
        return rows.stream();
    }

    private static List<Arguments> badSeconds(String variable, String min) {
        String expected = " (expected: " + min + "..2147483)";
        return List.of(
                bad(variable, "abc", "not a plain decimal integer" + expected),
                bad(variable, "-1", "negative" + expected),
                bad(variable, "1.5", "not a whole number" + expected),
                bad(variable, "5s", "not a plain decimal integer" + expected),
                bad(variable, "2147484", "too large" + expected),
                bad(variable, "99999999999999999999", "too large" + expected));
    }

    private static Arguments bad(String variable, String value, String reason) {
        return arguments(Map.of(variable, value), variable, value,
                variable + "=" + ConfigException.quote(value) + ": " + reason);
    }

    @ParameterizedTest
    @MethodSource("badValues")
    void rejectsABadValueNamingTheVariableAndValue(Map<String, String> env, String variable, String value,
            String message) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ForwarderConfig.fromEnvironment(env));

        assertThat(e).as("no exception for %s", env).isNotNull();
        assertThat(e.variable()).isEqualTo(variable);
        assertThat(e.value()).isEqualTo(value);
        assertThat(e.getMessage()).isEqualTo(message).doesNotContain("\n");
    }

    @Test
    void exampleMessageFromTheBrief() {
        assertThatThrownBy(() -> ForwarderConfig.fromEnvironment(Map.of("FWD_LISTENERS", ":443=80")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("FWD_LISTENERS=\":443=80\": guest port 80 is not in FWD_ALLOWED_GUEST_PORTS"
                        + " (22,443,5432,6379,9092)");
    }

    @Test
    void aNewlineInAValueStaysOnOneLine() {
        assertThatThrownBy(() -> ForwarderConfig.fromEnvironment(Map.of("FWD_LOG_FORMAT", "json\nx")))
                .hasMessage("FWD_LOG_FORMAT=\"json\\nx\": unknown log format \"json\\nx\" (expected: console or json)");
    }

    @Test
    void helpListsEveryVariableWithItsDefault() {
        String help = ForwarderConfig.help();

        assertThat(help).contains(VARIABLES);
        assertThat(help).contains(
                "FWD_LISTENERS  default: " + DEFAULT_LISTENERS,
                "FWD_ALLOWED_GUEST_PORTS  default: 22,443,5432,6379,9092",
                "FWD_DOMAIN_PREFIX  default: (empty)",
                "FWD_DOMAIN_SUFFIX  default: localhost",
                "FWD_CONFIG_ROOT  default: /etc/mergen/vm.d",
                "FWD_NETNS_ROOT  default: /run/netns",
                "FWD_TLS_CERT_FILE  default: /etc/mergen/certs/wildcard.<domain>.crt",
                "FWD_TLS_KEY_FILE  default: /etc/mergen/certs/wildcard.<domain>.key",
                "FWD_TLS_CERTS  default: (empty)",
                "FWD_TLS_RSA_SIGNER  default: auto",
                "FWD_TLS_SESSION_RESUMPTION  default: on",
                "FWD_DIAL_TIMEOUT_SECONDS  default: 5",
                "FWD_RESOLVER_CACHE_TTL_SECONDS  default: 5",
                "FWD_SHUTDOWN_TIMEOUT_SECONDS  default: 15",
                "FWD_HANDSHAKE_TIMEOUT_SECONDS  default: 10",
                "FWD_IDLE_TIMEOUT_SECONDS  default: 3600",
                "FWD_LOG_LEVEL  default: debug",
                "FWD_LOG_FORMAT  default: console");
        assertThat(EnvVar.values()).extracting(Enum::name).containsExactlyElementsOf(VARIABLES);
    }

    @Test
    void recordHoldsImmutableCopies() {
        List<ListenerSpec> listeners = new ArrayList<>(DEFAULTS.listeners());
        ForwarderConfig config = new ForwarderConfig(listeners, DEFAULTS.allowedGuestPorts(), DEFAULTS.domain(),
                DEFAULTS.configRoot(), DEFAULTS.netnsRoots(), DEFAULTS.tlsCertFile(), DEFAULTS.tlsKeyFile(),
                DEFAULTS.tlsCerts(), DEFAULTS.localCa(), DEFAULTS.rsaSigner(),
                DEFAULTS.sessionResumption(), DEFAULTS.dialTimeout(), DEFAULTS.resolverCacheTtl(), DEFAULTS.shutdownTimeout(),
                DEFAULTS.handshakeTimeout(), DEFAULTS.idleTimeout(), DEFAULTS.limits(), DEFAULTS.adminAddress(),
                DEFAULTS.logLevel(), DEFAULTS.logFormat());
        listeners.clear();

        assertThat(config.listeners()).hasSize(5);
        assertThatThrownBy(() -> config.listeners().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> config.allowedGuestPorts().add(80)).isInstanceOf(UnsupportedOperationException.class);
    }
}

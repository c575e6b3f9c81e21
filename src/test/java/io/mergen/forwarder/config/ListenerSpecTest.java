package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ListenerSpecTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // entry                       | host        | port | guest | mode | text
            ":443=443                      | ''          | 443  | 443   | TLS  | :443=443",
            "443=443                       | ''          | 443  | 443   | TLS  | :443=443",
            "'  :5432=5432  '              | ''          | 5432 | 5432  | TLS  | :5432=5432",
            ":2022=22                      | ''          | 2022 | 22    | RAW  | :2022=22/raw",
            ":2022=22/raw                  | ''          | 2022 | 22    | RAW  | :2022=22/raw",
            ":2022=22/tls                  | ''          | 2022 | 22    | TLS  | :2022=22/tls",
            ":443=443/tls                  | ''          | 443  | 443   | TLS  | :443=443",
            ":6379=6379/RAW                | ''          | 6379 | 6379  | RAW  | :6379=6379/raw",
            "127.0.0.1:8022=22/raw         | 127.0.0.1   | 8022 | 22    | RAW  | 127.0.0.1:8022=22/raw",
            "127.000.000.001:8443=443      | 127.0.0.1   | 8443 | 443   | TLS  | 127.0.0.1:8443=443",
            "0.0.0.0:443=443               | 0.0.0.0     | 443  | 443   | TLS  | 0.0.0.0:443=443",
            "localhost:8443=443            | localhost   | 8443 | 443   | TLS  | localhost:8443=443",
            "LocalHost:8443=443            | localhost   | 8443 | 443   | TLS  | localhost:8443=443",
            "[::1]:8443=443                | ::1         | 8443 | 443   | TLS  | [::1]:8443=443",
            "[0:0:0:0:0:0:0:1]:8443=443    | ::1         | 8443 | 443   | TLS  | [::1]:8443=443",
            "[FE80::A]:9092=9092           | fe80::a     | 9092 | 9092  | TLS  | [fe80::a]:9092=9092",
            "[::]:443=443                  | ::          | 443  | 443   | TLS  | [::]:443=443",
            ":65535=1                      | ''          | 65535| 1     | TLS  | :65535=1",
    })
    void parsesEntries(String entry, String host, int port, int guestPort, ListenerMode mode, String text) {
        ListenerSpec spec = ListenerSpec.parse(entry);

        assertThat(spec).isEqualTo(new ListenerSpec(host, port, guestPort, mode));
        assertThat(spec.text()).isEqualTo(text);
        assertThat(ListenerSpec.parse(spec.text())).as("text() parses back").isEqualTo(spec);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '#', value = {
            "''                  # empty entry (expected: [host]:port=guestPort[/tls|/raw][+h2][+proxy])",
            ":443                # missing '=' (expected: [host]:port=guestPort[/tls|/raw][+h2][+proxy])",
            ":443=443=443        # more than one '=' (expected: [host]:port=guestPort[/tls|/raw][+h2][+proxy])",
            ":0=443              # listen port \"0\": too small (expected: 1..65535)",
            ":70000=443          # listen port \"70000\": too large (expected: 1..65535)",
            ":https=443          # listen port \"https\": not a plain decimal integer (expected: 1..65535)",
            ":=443               # listen port \"\": empty (expected: 1..65535)",
            "=443                # listen port \"\": empty (expected: 1..65535)",
            ":-1=443             # listen port \"-1\": negative (expected: 1..65535)",
            ":443=0              # guest port \"0\": too small (expected: 1..65535)",
            ":443=70000          # guest port \"70000\": too large (expected: 1..65535)",
            ":443=                # guest port \"\": empty (expected: 1..65535)",
            ":443=4.5            # guest port \"4.5\": not a whole number (expected: 1..65535)",
            ":443=443/udp        # unknown mode \"udp\" (expected: tls or raw)",
            ":443=443/           # unknown mode \"\" (expected: tls or raw)",
            ":443=443/tls/raw    # unknown mode \"tls/raw\" (expected: tls or raw)",
            "example.com:443=443 # host \"example.com\" is not an IP address or localhost (host names are not resolved)",
            "1.2.3:443=443       # host \"1.2.3\" is not an IP address or localhost (host names are not resolved)",
            "256.1.1.1:443=443   # host \"256.1.1.1\" is not an IP address or localhost (host names are not resolved)",
            "::1:8443=443        # IPv6 host \"::1\" must be in brackets (expected: [::1]:8443=443)",
            "[::1:8443=443       # missing ']' after the IPv6 address (expected: [::1]:8443=443)",
            "[::1]8443=443       # missing ':port' after ']' (expected: [::1]:8443=443)",
            "[::1]=443           # missing ':port' after ']' (expected: [::1]:8443=443)",
            "[127.0.0.1]:80=443  # host \"127.0.0.1\" in brackets is not an IPv6 address (brackets are for IPv6 only)",
            "[localhost]:80=443  # host \"localhost\" in brackets is not an IPv6 address (brackets are for IPv6 only)",
            "[[::1]]:80=443      # host \"[::1\" has stray brackets",
            "::1]:80=443         # IPv6 host \"::1]\" must be in brackets (expected: [::1]:8443=443)",
            "1.2.3.4]:80=443     # host \"1.2.3.4]\" has stray brackets",
            "[fe80::1%eth0]:80=443 # host \"fe80::1%eth0\" has a zone id, which is not supported",
            ":443=443/tls+h3     # unknown listener option \"h3\" (expected: h2 or proxy)",
            ":443=443/tls+       # unknown listener option \"\" (expected: h2 or proxy)",
            ":2022=22/raw+h2     # option h2 needs TLS (expected: /tls+h2)",
    })
    void rejectsMalformedEntriesWithAReason(String entry, String reason) {
        assertThatIllegalArgumentException().isThrownBy(() -> ListenerSpec.parse(entry)).withMessage(reason);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            ":8443=443/tls+h2   | :8443=443/tls+h2",
            ":8443=443/TLS+H2   | :8443=443/tls+h2",
            ":8443=443/tls+h2+h2 | :8443=443/tls+h2",
    })
    void parsesOptionsAfterTheMode(String entry, String text) {
        ListenerSpec spec = ListenerSpec.parse(entry);

        assertThat(spec.options()).containsExactly(ListenerOption.H2);
        assertThat(spec.has(ListenerOption.H2)).isTrue();
        assertThat(spec.has(ListenerOption.PROXY)).isFalse();
        assertThat(spec.text()).isEqualTo(text);
        assertThat(ListenerSpec.parse(spec.text())).isEqualTo(spec);
        assertThat(ListenerSpec.parse(":8443=443").has(ListenerOption.H2)).isFalse();
    }

    @Test
    void proxyOptionWorksOnTlsAndRawListeners() {
        assertThat(ListenerSpec.parse(":8443=443/tls+proxy+h2").text()).isEqualTo(":8443=443/tls+h2+proxy");
        assertThat(ListenerSpec.parse(":8022=22/raw+proxy").has(ListenerOption.PROXY)).isTrue();
        assertThat(ListenerSpec.parse(":8022=22/raw+proxy").text()).isEqualTo(":8022=22/raw+proxy");
    }

    @Test
    void bindsTheWildcardAddressWithoutAHost() {
        InetSocketAddress address = ListenerSpec.parse(":443=443").bindAddress();

        assertThat(address.getAddress().isAnyLocalAddress()).isTrue();
        assertThat(address.getPort()).isEqualTo(443);
    }

    @Test
    void bindsLocalhostAsLoopbackWithoutDns() throws Exception {
        InetSocketAddress address = ListenerSpec.parse("localhost:8443=443").bindAddress();

        assertThat(address.isUnresolved()).isFalse();
        assertThat(address.getAddress()).isEqualTo(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
        assertThat(address.getPort()).isEqualTo(8443);
    }

    @Test
    void bindsIpLiterals() throws Exception {
        assertThat(ListenerSpec.parse("[::1]:8443=443").bindAddress().getAddress())
                .isEqualTo(InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
        assertThat(ListenerSpec.parse("10.213.1.2:80=443").bindAddress().getAddress())
                .isEqualTo(InetAddress.getByAddress(new byte[] {10, (byte) 213, 1, 2}));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0     | 443   | port: 0 (expected: 1..65535)",
            "65536 | 443   | port: 65536 (expected: 1..65535)",
            "443   | -1    | guestPort: -1 (expected: 1..65535)",
    })
    void constructorChecksPorts(int port, int guestPort, String reason) {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new ListenerSpec("", port, guestPort, ListenerMode.TLS))
                .withMessage(reason);
    }

    @Test
    void constructorChecksHostAndNulls() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new ListenerSpec("vm.example.com", 443, 443, ListenerMode.TLS))
                .withMessageContaining("host names are not resolved");
        assertThatNullPointerException().isThrownBy(() -> new ListenerSpec(null, 443, 443, ListenerMode.TLS))
                .withMessage("host");
        assertThatNullPointerException().isThrownBy(() -> new ListenerSpec("", 443, 443, null))
                .withMessage("mode");
    }

    @ParameterizedTest
    @CsvSource({
            "22, RAW",
            "443, TLS",
            "2022, TLS",
            "5432, TLS",
    })
    void defaultModeFollowsTheDesignsRawTestPort(int guestPort, ListenerMode mode) {
        assertThat(ListenerMode.defaultFor(guestPort)).isEqualTo(mode);
    }

    @ParameterizedTest
    @CsvSource({"tls, TLS", "TLS, TLS", "raw, RAW", "Raw, RAW"})
    void parsesModes(String text, ListenerMode mode) {
        assertThat(ListenerMode.parse(text)).isEqualTo(mode);
    }
}

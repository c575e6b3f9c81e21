package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ListenerParserTest {

    private static final Set<Integer> ALLOWED = Set.of(22, 443, 5432, 6379, 9092);

    @ParameterizedTest
    @CsvSource(delimiter = '#', value = {
            ":443=443,:2022=22                       # :443=443 :2022=22/raw",
            "' :443=443 , :2022=22 '                 # :443=443 :2022=22/raw",
            ":443=443,,:2022=22,                     # :443=443 :2022=22/raw",
            "127.0.0.1:443=443,127.0.0.2:443=443     # 127.0.0.1:443=443 127.0.0.2:443=443",
            "127.0.0.1:443=443,[::1]:443=443         # 127.0.0.1:443=443 [::1]:443=443",
            ":443=443,:8443=443                      # :443=443 :8443=443",
    })
    void keepsOrderAndSkipsEmptyEntries(String value, String texts) {
        List<ListenerSpec> specs = ListenerParser.parseList(value, ALLOWED);

        assertThat(specs).extracting(ListenerSpec::text).containsExactly(texts.split(" "));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '#', value = {
            "','                     # no listener (expected: at least one [host]:port=guestPort[/tls|/raw][+h2][+proxy] entry)",
            "' , ,'                  # no listener (expected: at least one [host]:port=guestPort[/tls|/raw][+h2][+proxy] entry)",
            ":443=80                 # guest port 80 is not in FWD_ALLOWED_GUEST_PORTS (22,443,5432,6379,9092)",
            ":443=443,:8080=80       # entry \":8080=80\": guest port 80 is not in FWD_ALLOWED_GUEST_PORTS"
                    + " (22,443,5432,6379,9092)",
            ":443=443,:80            # entry \":80\": missing '=' (expected: [host]:port=guestPort[/tls|/raw][+h2][+proxy])",
            ":443=443,:443=22        # entries \":443=443\" and \":443=22/raw\" both bind port 443"
                    + " (a wildcard host binds every address)",
            "127.0.0.1:443=443,:443=443  # entries \"127.0.0.1:443=443\" and \":443=443\" both bind port 443"
                    + " (a wildcard host binds every address)",
            "0.0.0.0:443=443,[::1]:443=443 # entries \"0.0.0.0:443=443\" and \"[::1]:443=443\" both bind port 443"
                    + " (a wildcard host binds every address)",
            "[::]:443=443,127.0.0.1:443=443 # entries \"[::]:443=443\" and \"127.0.0.1:443=443\" both bind port 443"
                    + " (a wildcard host binds every address)",
            "127.0.0.1:443=443,localhost:443=22 # entries \"127.0.0.1:443=443\" and \"localhost:443=22/raw\" both"
                    + " bind port 443 on the same address",
            "[::1]:443=443,[0::1]:443=443 # entries \"[::1]:443=443\" and \"[::1]:443=443\" both bind port 443"
                    + " on the same address",
    })
    void rejectsBadListsWithAReason(String value, String reason) {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> ListenerParser.parseList(value, ALLOWED))
                .withMessage(reason);
    }
}

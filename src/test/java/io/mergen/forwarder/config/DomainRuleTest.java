package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DomainRuleTest {

    private static final DomainRule LOCALHOST = new DomainRule("", "localhost");
    private static final DomainRule VM_EXAMPLE = new DomainRule("vm", "example.com");

    private static final String LABEL_63 = "a".repeat(63);
    private static final String LABEL_64 = "a".repeat(64);

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            "app1.localhost                 | app1",
            "APP1.LocalHost                 | app1",
            "app1.localhost.                | app1",
            "084604f6.localhost             | 084604f6",
            "084604f6-1b2c-4d5e-8f90-1234567890ab.localhost | 084604f6-1b2c-4d5e-8f90-1234567890ab",
            "a.localhost                    | a",
            "a-b.localhost                  | a-b",
            "xn--bcher-kva.localhost        | xn--bcher-kva",
            "app1.localhost..               | null",
            "a.app1.localhost               | null",
            "app1.example.com               | null",
            "app1.notlocalhost              | null",
            "app1localhost                  | null",
            "localhost                      | null",
            "localhost.                     | null",
            ".localhost                     | null",
            "..localhost                    | null",
            "-app.localhost                 | null",
            "app-.localhost                 | null",
            "app_1.localhost                | null",
            "app 1.localhost                | null",
            "'app\u212a.localhost'          | null",
            "'app1.local\u212aost'          | null",
            "'caf\u00e9.localhost'          | null",
            "127.0.0.1                      | null",
            "::1                            | null",
            "''                             | null",
            "null                           | null",
    })
    void labelWithoutPrefix(String serverName, String label) {
        assertThat(LOCALHOST.labelOf(serverName)).isEqualTo(Optional.ofNullable(label));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            "app1.vm.example.com            | app1",
            "App1.VM.Example.COM.           | app1",
            "app1.example.com               | null",
            "vm.example.com                 | null",
            ".vm.example.com                | null",
            "a.b.vm.example.com             | null",
            "app1.vm.example.org            | null",
            "app1.xvm.example.com           | null",
            "app1.localhost                 | null",
    })
    void labelWithPrefix(String serverName, String label) {
        assertThat(VM_EXAMPLE.labelOf(serverName)).isEqualTo(Optional.ofNullable(label));
    }

    @Test
    void labelLengthIsLimitedTo63() {
        assertThat(LOCALHOST.labelOf(LABEL_63 + ".localhost")).contains(LABEL_63);
        assertThat(LOCALHOST.labelOf(LABEL_64 + ".localhost")).isEmpty();
    }

    @Test
    void nameLengthIsLimitedTo253() {
        String domain = String.join(".", "b".repeat(63), "c".repeat(63), "d".repeat(63), "e".repeat(59));
        DomainRule rule = new DomainRule("", domain);
        assertThat(domain).hasSize(251);

        assertThat(rule.labelOf("a." + domain)).as("253 characters").contains("a");
        assertThat(rule.labelOf("a." + domain + ".")).as("253 characters and a trailing dot").contains("a");
        assertThat(rule.labelOf("aa." + domain)).as("254 characters").isEmpty();
    }

    @Test
    void ipLiteralIsNoServerNameEvenUnderANumericDomain() {
        DomainRule numeric = new DomainRule("0", "0.1");

        assertThat(numeric.domain()).isEqualTo("0.0.1");
        assertThat(numeric.labelOf("127.0.0.1")).isEmpty();
        assertThat(numeric.labelOf("app.0.0.1")).contains("app");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''              | localhost     | ''       | localhost       | localhost",
            "' .VM. '        | example.com   | vm       | example.com     | vm.example.com",
            "VM              | ' Example.COM.' | vm     | example.com     | vm.example.com",
            "'..'            | .localhost.   | ''       | localhost       | localhost",
            "' . vm . '      | localhost     | vm       | localhost       | vm.localhost",
            "eu.vm           | example.com   | eu.vm    | example.com     | eu.vm.example.com",
    })
    void normalisesPrefixAndSuffix(String prefix, String suffix, String normalPrefix, String normalSuffix,
            String domain) {
        DomainRule rule = new DomainRule(prefix, suffix);

        assertThat(rule).isEqualTo(new DomainRule(normalPrefix, normalSuffix));
        assertThat(rule.prefix()).isEqualTo(normalPrefix);
        assertThat(rule.suffix()).isEqualTo(normalSuffix);
        assertThat(rule.domain()).isEqualTo(domain);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '#', value = {
            "''           # suffix: empty (expected: a domain such as localhost)",
            "' . '        # suffix: empty (expected: a domain such as localhost)",
            "a..b         # empty label in \"a..b\"",
            "exa_mple.com # label \"exa_mple\" is not 1..63 letters, digits and inner hyphens",
            "-bad.com     # label \"-bad\" is not 1..63 letters, digits and inner hyphens",
            "'caf\u00e9'  # not ASCII (expected: letters, digits, hyphens and dots; write IDNs in their xn-- form)",
    })
    void rejectsBadSuffixes(String suffix, String reason) {
        assertThatIllegalArgumentException().isThrownBy(() -> new DomainRule("", suffix)).withMessage(reason);
    }

    @Test
    void rejectsADomainThatLeavesNoRoomForALabel() {
        String suffix = "x".repeat(63) + "." + "y".repeat(63) + "." + "z".repeat(63) + "." + "w".repeat(58);
        assertThat(new DomainRule("", suffix).domain()).hasSize(250);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> new DomainRule("vm", suffix))
                .withMessage("prefix.suffix: 253 characters (expected: at most 251 so that <label>.<domain>"
                        + " fits in 253)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new DomainRule("", suffix + ".ww"))
                .withMessage("too long: 253 characters (expected: at most 251 so that <label>.<domain>"
                        + " fits in 253)");
    }

    @Test
    void rejectsNulls() {
        assertThatNullPointerException().isThrownBy(() -> new DomainRule(null, "localhost")).withMessage("prefix");
        assertThatNullPointerException().isThrownBy(() -> new DomainRule("", null)).withMessage("suffix");
    }
}

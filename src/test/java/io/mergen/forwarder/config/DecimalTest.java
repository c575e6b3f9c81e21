package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DecimalTest {

    @ParameterizedTest
    @CsvSource({
            "1, 1",
            "443, 443",
            "0443, 443",
            "65535, 65535",
    })
    void parsesPorts(String text, int expected) {
        assertThat(Decimal.port(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                    | empty (expected: 1..65535)",
            "0                     | too small (expected: 1..65535)",
            "65536                 | too large (expected: 1..65535)",
            "70000                 | too large (expected: 1..65535)",
            "99999999999999999999  | too large (expected: 1..65535)",
            "-1                    | negative (expected: 1..65535)",
            "1.5                   | not a whole number (expected: 1..65535)",
            "443.                  | not a whole number (expected: 1..65535)",
            ".5                    | not a whole number (expected: 1..65535)",
            "+443                  | not a plain decimal integer (expected: 1..65535)",
            "abc                   | not a plain decimal integer (expected: 1..65535)",
            "0x1bb                 | not a plain decimal integer (expected: 1..65535)",
            "4 43                  | not a plain decimal integer (expected: 1..65535)",
            "1e3                   | not a plain decimal integer (expected: 1..65535)",
            "'\u0664\u0664\u0663'  | not a plain decimal integer (expected: 1..65535)",
    })
    void rejectsBadPortsWithAReason(String text, String reason) {
        assertThatIllegalArgumentException().isThrownBy(() -> Decimal.port(text)).withMessage(reason);
    }

    @ParameterizedTest
    @CsvSource({
            "0, 0, 0",
            "5, 1, 5",
            "2147483, 0, 2147483",
    })
    void parsesSeconds(String text, long min, long seconds) {
        assertThat(Decimal.seconds(text, min)).isEqualTo(Duration.ofSeconds(seconds));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0       | 1 | too small (expected: 1..2147483)",
            "2147484 | 0 | too large (expected: 0..2147483)",
            "-1      | 0 | negative (expected: 0..2147483)",
    })
    void rejectsSecondsOutOfRange(String text, long min, String reason) {
        assertThatIllegalArgumentException().isThrownBy(() -> Decimal.seconds(text, min)).withMessage(reason);
    }

    @Test
    void maxSecondsStillFitsIntMilliseconds() {
        assertThat(Duration.ofSeconds(Decimal.MAX_SECONDS).toMillis()).isLessThanOrEqualTo(Integer.MAX_VALUE);
        assertThat(Duration.ofSeconds(Decimal.MAX_SECONDS + 1).toMillis()).isGreaterThan(Integer.MAX_VALUE);
    }
}

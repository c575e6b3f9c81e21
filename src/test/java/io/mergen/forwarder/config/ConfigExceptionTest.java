package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigExceptionTest {

    @Test
    void namesTheVariableAndQuotedValueOnOneLine() {
        ConfigException e = new ConfigException("FWD_LISTENERS", ":443=80", "guest port 80 is not allowed");

        assertThat(e.getMessage()).isEqualTo("FWD_LISTENERS=\":443=80\": guest port 80 is not allowed");
        assertThat(e.variable()).isEqualTo("FWD_LISTENERS");
        assertThat(e.value()).isEqualTo(":443=80");
    }

    static Stream<Arguments> escapes() {
        return Stream.of(
                arguments("plain", "\"plain\""),
                arguments("a\nb", "\"a\\nb\""),
                arguments("a\r\nb", "\"a\\r\\nb\""),
                arguments("a\tb", "\"a\\tb\""),
                arguments("say \"hi\"", "\"say \\\"hi\\\"\""),
                arguments("back\\slash", "\"back\\\\slash\""),
                arguments("a\u2028b\u0085c", "\"a\\u2028b\\u0085c\""),
                arguments("\u0000\u001b", "\"\\u0000\\u001b\""),
                arguments("caf\u00e9", "\"caf\u00e9\""));
    }

    @ParameterizedTest
    @MethodSource("escapes")
    void quotesAndEscapesTheValue(String value, String quoted) {
        assertThat(ConfigException.quote(value)).isEqualTo(quoted);
    }

    @Test
    void aNewlineInValueOrReasonCannotBreakTheLine() {
        ConfigException e = new ConfigException("FWD_LOG_LEVEL", "info\nFAKE LOG LINE", "bad\nreason\u2029");

        assertThat(e.getMessage())
                .doesNotContain("\n", "\r", "\u2029")
                .isEqualTo("FWD_LOG_LEVEL=\"info\\nFAKE LOG LINE\": bad\\nreason\\u2029");
        assertThat(e.value()).isEqualTo("info\nFAKE LOG LINE");
    }

    @Test
    void rejectsNulls() {
        assertThatNullPointerException().isThrownBy(() -> new ConfigException(null, "v", "r"))
                .withMessage("variable");
        assertThatNullPointerException().isThrownBy(() -> new ConfigException("V", null, "r"))
                .withMessage("value");
        assertThatNullPointerException().isThrownBy(() -> new ConfigException("V", "v", null))
                .withMessage("reason");
    }
}

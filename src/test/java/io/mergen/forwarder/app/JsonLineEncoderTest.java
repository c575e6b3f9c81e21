package io.mergen.forwarder.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class JsonLineEncoderTest {
    @Test
    void oneJsonObjectPerLineWithKeyValuesAsFields() throws Exception {
        LoggerContext context = new LoggerContext();
        LoggingEvent event = new LoggingEvent("x", context.getLogger("mergen.access"), Level.INFO,
                "connection closed\nsecond line", null, null);
        event.setKeyValuePairs(List.of(new KeyValuePair("serverName", "app1.localhost"),
                new KeyValuePair("bytesIn", 42L), new KeyValuePair("vmID", null)));
        JsonLineEncoder encoder = new JsonLineEncoder();
        encoder.setContext(context);
        encoder.start();

        String line = new String(encoder.encode(event), StandardCharsets.UTF_8);

        assertThat(line).endsWith("\n");
        assertThat(line.strip()).doesNotContain("\n");
        JsonNode json = new ObjectMapper().readTree(line);
        assertThat(json.get("level").asText()).isEqualTo("info");
        assertThat(json.get("logger").asText()).isEqualTo("mergen.access");
        assertThat(json.get("msg").asText()).isEqualTo("connection closed\nsecond line");
        assertThat(json.get("serverName").asText()).isEqualTo("app1.localhost");
        assertThat(json.get("bytesIn").isNumber()).isTrue();
        assertThat(json.get("bytesIn").asLong()).isEqualTo(42);
        assertThat(json.get("vmID").isNull()).isTrue();
        assertThat(json.get("time").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
    }
}

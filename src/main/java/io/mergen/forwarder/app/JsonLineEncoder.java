package io.mergen.forwarder.app;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.slf4j.event.KeyValuePair;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Locale;

/**
 * One JSON object per log event and line, for log shippers: {@code time, level, logger, msg}, then the
 * event's key-value pairs as top-level fields (numbers stay numbers), then {@code error} with a stack trace.
 */
final class JsonLineEncoder extends EncoderBase<ILoggingEvent> {
    private static final byte[] NO_BYTES = new byte[0];
    private final JsonFactory json = new JsonFactory();

    @Override
    public byte[] headerBytes() {
        return NO_BYTES;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator gen = json.createGenerator(out)) {
            gen.writeStartObject();
            gen.writeStringField("time", Instant.ofEpochMilli(event.getTimeStamp()).toString());
            gen.writeStringField("level", event.getLevel().toString().toLowerCase(Locale.ROOT));
            gen.writeStringField("logger", event.getLoggerName());
            gen.writeStringField("msg", event.getFormattedMessage());
            if (event.getKeyValuePairs() != null) {
                for (KeyValuePair pair : event.getKeyValuePairs()) {
                    writeValue(gen, pair.key, pair.value);
                }
            }
            IThrowableProxy error = event.getThrowableProxy();
            if (error != null) {
                gen.writeStringField("error", ThrowableProxyUtil.asString(error));
            }
            gen.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.write('\n');
        return out.toByteArray();
    }

    private static void writeValue(JsonGenerator gen, String key, Object value) throws IOException {
        switch (value) {
            case null -> gen.writeNullField(key);
            case Integer i -> gen.writeNumberField(key, i);
            case Long l -> gen.writeNumberField(key, l);
            case Boolean b -> gen.writeBooleanField(key, b);
            default -> gen.writeStringField(key, String.valueOf(value));
        }
    }

    @Override
    public byte[] footerBytes() {
        return NO_BYTES;
    }
}

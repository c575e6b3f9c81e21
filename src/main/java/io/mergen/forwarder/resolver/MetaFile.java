package io.mergen.forwarder.resolver;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** Turns the bytes of one meta.json into a routable VM and its names, or the reason it cannot be routed. */
final class MetaFile {

    static final String FILE_NAME = "meta.json";
    static final int MAX_BYTES = 1024 * 1024;

    private static final List<String> NAME_KEYS = List.of("host", "hostname", "app", "name");
    private static final int MAX_NAME_BYTES = 255;
    private static final int MAX_QUOTED_CHARS = 80;

    // Go's zero time.Time: what a Go manager writes for a createdAt it never set, so it means "missing".
    private static final Instant GO_ZERO_TIME = Instant.parse("0001-01-01T00:00:00Z");

    // Trailing tokens usually mean a file rewritten in place without truncation: refuse rather than guess.
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** The outcome of parsing one file. */
    sealed interface Parsed {
        /** A routable VM; {@code names} are the raw tag and metadata names, {@code warnings} what was ignored. */
        record Valid(VmRoute vm, List<String> names, List<String> warnings) implements Parsed {
            public Valid {
                requireNonNull(vm, "vm");
                names = List.copyOf(names);
                warnings = List.copyOf(warnings);
            }
        }

        /** A file that cannot be routed, and why. */
        record Invalid(String reason) implements Parsed {
            public Invalid {
                requireNonNull(reason, "reason");
            }
        }
    }

    private MetaFile() {}

    static Parsed parse(byte[] content) {
        requireNonNull(content, "content");
        JsonNode root;
        try {
            root = JSON.readTree(content);
        } catch (JacksonException e) {
            return new Parsed.Invalid("invalid JSON: " + truncate(e.getOriginalMessage()));
        } catch (java.io.IOException e) {
            return new Parsed.Invalid("invalid JSON: " + truncate(e.getMessage()));
        }
        if (root == null || root.isMissingNode()) {
            return new Parsed.Invalid("empty file");
        }
        if (!root.isObject()) {
            return new Parsed.Invalid("top level: " + root.getNodeType() + " (expected: an object)");
        }
        try {
            return parseObject(root);
        } catch (Rejected e) {
            return new Parsed.Invalid(e.getMessage());
        }
    }

    private static Parsed parseObject(JsonNode root) throws Rejected {
        List<String> warnings = new ArrayList<>();
        String id = id(root.get("id"));
        Optional<Instant> createdAt = createdAt(root.get("createdAt"), warnings);
        InetAddress guestIp = guestIp(root.get("guestIP"));
        String netns = netns(root.get("netns"));
        OptionalInt httpPort = httpPort(root.get("httpPort"));
        List<String> names = new ArrayList<>();
        tagNames(root.get("tags"), names, warnings);
        metadataNames(root.get("metadata"), names);
        return new Parsed.Valid(new VmRoute(id, createdAt, guestIp, netns, httpPort), names, warnings);
    }

    private static String id(JsonNode node) throws Rejected {
        if (absent(node)) {
            throw new Rejected("id: missing (expected: a non-empty string)");
        }
        if (!node.isTextual() || node.textValue().isBlank()) {
            throw new Rejected("id: " + quote(node) + " (expected: a non-empty string)");
        }
        return node.textValue().strip();
    }

    private static Optional<Instant> createdAt(JsonNode node, List<String> warnings) {
        if (absent(node)) {
            return Optional.empty();
        }
        if (node.isTextual()) {
            try {
                Instant instant = OffsetDateTime.parse(node.textValue()).toInstant();
                return instant.equals(GO_ZERO_TIME) ? Optional.empty() : Optional.of(instant);
            } catch (DateTimeParseException e) {
                // Fall through: an unreadable timestamp orders the VM like one without a timestamp.
            }
        }
        warnings.add("createdAt: " + quote(node) + " (expected: an RFC 3339 timestamp); ordered as if missing");
        return Optional.empty();
    }

    private static InetAddress guestIp(JsonNode node) throws Rejected {
        if (absent(node)) {
            throw new Rejected("guestIP: missing (expected: an IPv4 or IPv6 literal)");
        }
        // Literals only: a host name here would make the forwarder depend on DNS (and resolve outside the netns).
        String text = node.isTextual() ? node.textValue() : "";
        InetAddress address = NetUtil.isValidIpV4Address(text) || NetUtil.isValidIpV6Address(text)
                ? NetUtil.createInetAddressFromIpAddressString(text)
                : null;
        if (address == null) {
            throw new Rejected("guestIP: " + quote(node) + " (expected: an IPv4 or IPv6 literal)");
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
            throw new Rejected("guestIP: " + quote(node) + " (expected: a unicast address)");
        }
        return address;
    }

    private static String netns(JsonNode node) throws Rejected {
        if (absent(node)) {
            throw new Rejected("netns: missing (expected: a file name)");
        }
        // The name is resolved against the netns root: anything but a plain name could open another file.
        String name = node.isTextual() ? node.textValue() : null;
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.chars().anyMatch(Character::isISOControl)
                || name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new Rejected("netns: " + quote(node) + " (expected: a plain file name of at most 255 bytes)");
        }
        return name;
    }

    private static OptionalInt httpPort(JsonNode node) throws Rejected {
        if (absent(node)) {
            return OptionalInt.empty();
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 1 || node.intValue() > 65535) {
            throw new Rejected("httpPort: " + quote(node) + " (expected: an integer in 1..65535)");
        }
        return OptionalInt.of(node.intValue());
    }

    private static void tagNames(JsonNode tags, List<String> names, List<String> warnings) throws Rejected {
        if (absent(tags)) {
            return;
        }
        if (!tags.isObject()) {
            throw new Rejected("tags: " + quote(tags) + " (expected: an object of strings)");
        }
        for (String key : NAME_KEYS) {
            JsonNode value = tags.get(key);
            if (absent(value)) {
                continue;
            }
            if (value.isTextual()) {
                names.add(value.textValue());
            } else {
                warnings.add("tags." + key + ": " + quote(value) + " (expected: a string); ignored");
            }
        }
    }

    private static void metadataNames(JsonNode metadata, List<String> names) throws Rejected {
        if (absent(metadata)) {
            return;
        }
        if (!metadata.isObject()) {
            throw new Rejected("metadata: " + quote(metadata) + " (expected: an object)");
        }
        // metadata holds free-form values: only strings can be names, anything else is somebody else's data.
        for (String key : NAME_KEYS) {
            JsonNode value = metadata.get(key);
            if (value != null && value.isTextual()) {
                names.add(value.textValue());
            }
        }
    }

    private static boolean absent(JsonNode node) {
        return node == null || node.isNull() || node.isMissingNode();
    }

    private static String quote(JsonNode node) {
        // toString() escapes control characters, so the value is safe to put in a log line.
        return truncate(node.toString());
    }

    private static String truncate(String text) {
        if (text == null) {
            return "";
        }
        return text.length() <= MAX_QUOTED_CHARS ? text : text.substring(0, MAX_QUOTED_CHARS) + "...";
    }

    /** A field that makes the whole file unroutable; thrown only to unwind to {@link #parse}. */
    private static final class Rejected extends Exception {
        Rejected(String message) {
            super(message, null, false, false);
        }
    }
}

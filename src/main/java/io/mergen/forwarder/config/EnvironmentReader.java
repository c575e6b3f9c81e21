package io.mergen.forwarder.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Reads the variables of {@link EnvVar} from an environment map, turning every rejected value into a
 * {@link ConfigException} for that variable.
 *
 * <p>A variable that is unset, or set to blanks only, takes its default; {@code FWD_DOMAIN_SUFFIX} is the
 * exception, as an empty domain could never match a server name.
 */
final class EnvironmentReader {

    private static final String CERT_PAIR_EXPECTED = " (expected: cert.pem:key.pem[,cert2.pem:key2.pem...])";

    private final Map<String, String> env;

    EnvironmentReader(Map<String, String> env) {
        this.env = requireNonNull(env, "env");
    }

    /** Parses the variable's value, or its default when unset; {@code parser}'s exception message is the reason. */
    <T> T read(EnvVar variable, Function<String, T> parser) {
        return read(variable, variable.defaultValue(), parser);
    }

    <T> T read(EnvVar variable, String defaultValue, Function<String, T> parser) {
        String raw = env.get(variable.name());
        boolean set = raw != null && !raw.isBlank();
        String value = set ? raw.strip() : defaultValue;
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException e) {
            String reason = set ? e.getMessage() : e.getMessage() + " (the default; " + variable + " is not set)";
            throw new ConfigException(variable.name(), set ? raw : value, reason);
        }
    }

    /**
     * For a variable whose empty value turns a feature off (FWD_ADMIN_ADDR, the local CA): unset takes the
     * default, set but empty, or an empty default, gives empty.
     */
    <T> Optional<T> readOptional(EnvVar variable, Function<String, T> parser) {
        String raw = env.get(variable.name());
        boolean off = raw == null ? variable.defaultValue().isEmpty() : raw.isBlank();
        return off ? Optional.empty() : Optional.of(read(variable, parser));
    }

    /** FWD_TLS_CA_CERT_FILE and FWD_TLS_CA_KEY_FILE: both set, or both empty. */
    Optional<CertPair> localCa() {
        Optional<Path> cert = readOptional(EnvVar.FWD_TLS_CA_CERT_FILE, EnvironmentReader::path);
        Optional<Path> key = readOptional(EnvVar.FWD_TLS_CA_KEY_FILE, EnvironmentReader::path);
        if (cert.isPresent() != key.isPresent()) {
            EnvVar missing = cert.isPresent() ? EnvVar.FWD_TLS_CA_KEY_FILE : EnvVar.FWD_TLS_CA_CERT_FILE;
            EnvVar given = cert.isPresent() ? EnvVar.FWD_TLS_CA_CERT_FILE : EnvVar.FWD_TLS_CA_KEY_FILE;
            throw new ConfigException(missing.name(), "", "empty while " + given + " is set (expected: both or neither)");
        }
        return cert.map(c -> new CertPair(c, key.orElseThrow()));
    }

    /** The suffix, which unlike the other variables may not be set to an empty value. */
    String domainSuffix() {
        String raw = env.get(EnvVar.FWD_DOMAIN_SUFFIX.name());
        String value = raw == null ? EnvVar.FWD_DOMAIN_SUFFIX.defaultValue() : raw;
        String suffix;
        try {
            suffix = DomainNames.normalise(value);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(EnvVar.FWD_DOMAIN_SUFFIX.name(), value, e.getMessage());
        }
        if (suffix.isEmpty()) {
            throw new ConfigException(EnvVar.FWD_DOMAIN_SUFFIX.name(), value,
                    "empty after trimming blanks and dots (expected: a domain such as localhost or example.com)");
        }
        return suffix;
    }

    static Set<Integer> ports(String value) {
        SortedSet<Integer> ports = new TreeSet<>();
        for (String entry : value.split(",", -1)) {
            if (entry.isBlank()) {
                continue;
            }
            try {
                ports.add(Decimal.port(entry.strip()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("port " + ConfigException.quote(entry.strip()) + ": "
                        + e.getMessage(), e);
            }
        }
        if (ports.isEmpty()) {
            throw new IllegalArgumentException("no port (expected: comma-separated ports 1..65535)");
        }
        return Collections.unmodifiableSortedSet(ports);
    }

    static Path path(String value) {
        try {
            return Path.of(value).normalize();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a valid path: " + e.getReason(), e);
        }
    }

    /**
     * Parses {@code cert.pem:key.pem[,cert2.pem:key2.pem...]}; blank entries are skipped, so the empty default means
     * none. Each entry has exactly one ':', as a path with a colon could not be split without guessing.
     */
    static List<CertPair> certPairs(String value) {
        Set<CertPair> pairs = new LinkedHashSet<>();
        for (String entry : value.split(",", -1)) {
            if (entry.isBlank()) {
                continue;
            }
            String text = entry.strip();
            int colon = text.indexOf(':');
            if (colon < 0 || colon != text.lastIndexOf(':')) {
                throw new IllegalArgumentException("entry " + ConfigException.quote(text) + ": "
                        + (colon < 0 ? "missing ':'" : "more than one ':'") + CERT_PAIR_EXPECTED);
            }
            String cert = text.substring(0, colon).strip();
            String key = text.substring(colon + 1).strip();
            if (cert.isEmpty() || key.isEmpty()) {
                throw new IllegalArgumentException("entry " + ConfigException.quote(text) + ": empty "
                        + (cert.isEmpty() ? "certificate" : "key") + " path" + CERT_PAIR_EXPECTED);
            }
            try {
                if (!pairs.add(new CertPair(path(cert), path(key)))) {
                    throw new IllegalArgumentException("listed twice");
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("entry " + ConfigException.quote(text) + ": " + e.getMessage(), e);
            }
        }
        return List.copyOf(pairs);
    }

    static Function<String, Duration> seconds(long minSeconds) {
        return value -> Decimal.seconds(value, minSeconds);
    }

    /** Normalises a log level to trace, debug, info, warn or error, taking "warning" as another name for warn. */
    static String logLevel(String value) {
        String level = value.toLowerCase(Locale.ROOT);
        return switch (level) {
            case "trace", "debug", "info", "warn", "error" -> level;
            case "warning" -> "warn";
            default -> throw new IllegalArgumentException("unknown log level (expected: trace, debug, info, warn,"
                    + " warning or error)");
        };
    }

    /** Parses {@code on} or {@code off}, ignoring case. */
    static boolean onOff(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException("unknown value (expected: on or off)");
        };
    }
}

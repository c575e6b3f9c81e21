package io.mergen.forwarder.config;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import java.util.Optional;

/**
 * Extracts the VM label from a TLS server name under {@code [prefix.]suffix}, e.g. {@code app1} from
 * {@code app1.vm.example.com} with prefix {@code vm} and suffix {@code example.com}.
 *
 * <p>Prefix and suffix are normalised (blanks and dots trimmed from both ends, lower-cased) and must be LDH
 * names; the prefix may be empty, the suffix may not.
 */
public record DomainRule(String prefix, String suffix) {

    public DomainRule {
        prefix = DomainNames.normalise(requireNonNull(prefix, "prefix"));
        suffix = DomainNames.normalise(requireNonNull(suffix, "suffix"));
        if (suffix.isEmpty()) {
            throw new IllegalArgumentException("suffix: empty (expected: a domain such as localhost)");
        }
        int length = prefix.isEmpty() ? suffix.length() : prefix.length() + 1 + suffix.length();
        if (length > DomainNames.MAX_DOMAIN_LENGTH) {
            throw new IllegalArgumentException("prefix.suffix: " + length + " characters (expected: at most "
                    + DomainNames.MAX_DOMAIN_LENGTH + " so that <label>.<domain> fits in "
                    + DomainNames.MAX_NAME_LENGTH + ")");
        }
    }

    /** The domain the labels sit under: {@code prefix.suffix}, or the suffix alone without a prefix. */
    public String domain() {
        return prefix.isEmpty() ? suffix : prefix + "." + suffix;
    }

    /**
     * The lower-cased label of {@code serverName} when it is exactly {@code <label>.<domain>}, ignoring case and
     * one trailing dot; empty for anything else (no name, another domain, several labels, a bad label, a name
     * over 253 characters, an IP literal).
     */
    public Optional<String> labelOf(String serverName) {
        if (serverName == null || serverName.isEmpty()) {
            return Optional.empty();
        }
        String name = serverName.endsWith(".") ? serverName.substring(0, serverName.length() - 1) : serverName;
        if (name.length() > DomainNames.MAX_NAME_LENGTH || !DomainNames.isAscii(name)) {
            return Optional.empty();
        }
        // RFC 6066 section 3 forbids IP literals in server_name; with an all-digit domain one could look like a label.
        if (NetUtil.isValidIpV4Address(name) || NetUtil.isValidIpV6Address(name)) {
            return Optional.empty();
        }
        name = DomainNames.lowerAscii(name);
        String domain = domain();
        int dot = name.length() - domain.length() - 1;
        if (dot < 1 || name.charAt(dot) != '.' || !name.endsWith(domain)) {
            return Optional.empty();
        }
        String label = name.substring(0, dot);
        return DomainNames.isLdhLabel(label) ? Optional.of(label) : Optional.empty();
    }
}

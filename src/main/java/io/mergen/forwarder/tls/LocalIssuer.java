package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import io.mergen.forwarder.config.ConfigException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Issues short-lived server certificates on demand from a local CA, as Caddy's internal issuer does, and keeps each
 * name's certificate until a third of its lifetime is left.
 */
public final class LocalIssuer {
    static final String CA_CERT_VARIABLE = "FWD_TLS_CA_CERT_FILE";
    static final String CA_KEY_VARIABLE = "FWD_TLS_CA_KEY_FILE";
    static final int DEFAULT_MAX_NAMES = 10_000;
    /** keyUsage bit 5 (RFC 5280 section 4.2.1.3). */
    private static final int KEY_CERT_SIGN = 5;

    private final X509Certificate ca;
    private final List<X509Certificate> caChain;
    private final PrivateKey caKey;
    private final Clock clock;
    private final int maxNames;
    private final Map<String, Issued> cache = new ConcurrentHashMap<>();

    private record Issued(KeyMaterial material, Instant notBefore, Instant notAfter) {
        /** Renewed once two thirds of the lifetime have passed, so a client never meets a nearly expired leaf. */
        boolean fresh(Instant now) {
            long lifetime = notAfter.toEpochMilli() - notBefore.toEpochMilli();
            return notAfter.toEpochMilli() - now.toEpochMilli() > lifetime / 3;
        }
    }

    LocalIssuer(List<X509Certificate> caChain, PrivateKey caKey, Clock clock, int maxNames) {
        this.caChain = List.copyOf(requireNonNull(caChain, "caChain"));
        this.caKey = requireNonNull(caKey, "caKey");
        this.clock = requireNonNull(clock, "clock");
        if (this.caChain.isEmpty()) {
            throw new IllegalArgumentException("caChain: [] (expected: the CA certificate first)");
        }
        if (maxNames <= 0) {
            throw new IllegalArgumentException("maxNames: " + maxNames + " (expected: > 0)");
        }
        this.ca = this.caChain.getFirst();
        this.maxNames = maxNames;
    }

    /**
     * Loads the CA certificate (the first CERTIFICATE block; any further ones are its own chain and are sent after
     * it) and the CA's private key (EC or RSA). Every problem becomes a {@link ConfigException} naming
     * {@code FWD_TLS_CA_CERT_FILE} or {@code FWD_TLS_CA_KEY_FILE}.
     */
    public static LocalIssuer load(Path caCertFile, Path caKeyFile) {
        return load(caCertFile, caKeyFile, Clock.systemUTC(), DEFAULT_MAX_NAMES);
    }

    static LocalIssuer load(Path caCertFile, Path caKeyFile, Clock clock, int maxNames) {
        requireNonNull(caCertFile, "caCertFile");
        requireNonNull(caKeyFile, "caKeyFile");
        requireNonNull(clock, "clock");
        // The same reading as KeyMaterial's, with this feature's variables in the messages.
        List<X509Certificate> chain = KeyMaterial.decoded(CA_CERT_VARIABLE, caCertFile,
                () -> KeyMaterial.certificates(PemBlocks.parse(KeyMaterial.read(CA_CERT_VARIABLE, caCertFile))));
        PrivateKey key = KeyMaterial.decoded(CA_KEY_VARIABLE, caKeyFile,
                () -> PrivateKeys.decode(PemBlocks.parse(KeyMaterial.read(CA_KEY_VARIABLE, caKeyFile))));
        X509Certificate ca = chain.getFirst();
        String subject = ca.getSubjectX500Principal().getName();
        if (ca.getBasicConstraints() < 0) {
            throw new ConfigException(CA_CERT_VARIABLE, caCertFile.toString(), "certificate " + subject
                    + " is not a CA (no basicConstraints CA:TRUE); clients would reject the certificates it signs");
        }
        boolean[] keyUsage = ca.getKeyUsage();
        if (keyUsage != null && (keyUsage.length <= KEY_CERT_SIGN || !keyUsage[KEY_CERT_SIGN])) {
            throw new ConfigException(CA_CERT_VARIABLE, caCertFile.toString(), "certificate " + subject
                    + " may not sign certificates (its keyUsage lacks keyCertSign)");
        }
        if (!ca.getNotAfter().toInstant().isAfter(clock.instant())) {
            throw new ConfigException(CA_CERT_VARIABLE, caCertFile.toString(), "CA certificate " + subject
                    + " expired at " + ca.getNotAfter().toInstant());
        }
        if (!PrivateKeys.matches(key, ca.getPublicKey())) {
            throw new ConfigException(CA_KEY_VARIABLE, caKeyFile.toString(), "private key (" + key.getAlgorithm()
                    + ") does not match the CA certificate in " + CA_CERT_VARIABLE + "=" + caCertFile + " (" + subject
                    + ", " + ca.getPublicKey().getAlgorithm() + ")");
        }
        return new LocalIssuer(chain, key, clock, maxNames);
    }

    /** The CA that signs every issued certificate; clients must trust it. */
    public X509Certificate caCertificate() {
        return ca;
    }

    /**
     * A fresh EC P-256 key and a certificate for {@code dnsName} valid from five minutes ago for 24 hours (never past
     * the CA's own notAfter), chained as leaf then CA. Costs a key generation and a signature: about a millisecond.
     */
    public KeyMaterial issue(String dnsName) {
        String name = normalized(dnsName);
        return LeafCertificates.issue(name, caChain, caKey, clock.instant());
    }

    /**
     * The cached certificate for {@code dnsName} while more than a third of its lifetime is left, else a newly issued
     * one. At most {@code maxNames} names are kept; the longest-held one makes room for a new name.
     */
    public KeyMaterial forName(String dnsName) {
        String name = normalized(dnsName);
        Instant now = clock.instant();
        // compute() locks only this name's bin, so two first requests for a name issue one certificate, not two.
        Issued issued = cache.compute(name, (key, current) -> current != null && current.fresh(now) ? current
                : issued(LeafCertificates.issue(key, caChain, caKey, now)));
        evictBeyondLimit(name);
        return issued.material();
    }

    /** How many names have a cached certificate. */
    public int cachedNames() {
        return cache.size();
    }

    private static Issued issued(KeyMaterial material) {
        return new Issued(material, material.leaf().getNotBefore().toInstant(),
                material.leaf().getNotAfter().toInstant());
    }

    /** A linear scan, but only when a new name overflows the cache, next to a millisecond of issuing. */
    private void evictBeyondLimit(String keep) {
        while (cache.size() > maxNames) {
            cache.entrySet().stream()
                    .filter(e -> !e.getKey().equals(keep))
                    .min(Comparator.comparing(e -> e.getValue().notBefore()))
                    .ifPresent(e -> cache.remove(e.getKey(), e.getValue()));
        }
    }

    /**
     * SNI and DNS names compare case-insensitively (RFC 6066 section 3, RFC 4343), so the cache and the certificate
     * use the lower-case form; only LDH labels are accepted, since a SAN dNSName is an IA5String.
     */
    static String normalized(String dnsName) {
        requireNonNull(dnsName, "dnsName");
        String name = dnsName.toLowerCase(Locale.ROOT);
        if (!validName(name)) {
            throw new IllegalArgumentException("dnsName: " + dnsName
                    + " (expected: a host name of letters, digits and hyphens in dot-separated labels, such as"
                    + " app1.localhost)");
        }
        return name;
    }

    private static boolean validName(String name) {
        if (name.isEmpty() || name.length() > 253) {
            return false;
        }
        for (String label : name.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
                    return false;
                }
            }
        }
        return true;
    }


}

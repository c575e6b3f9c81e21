package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/** Tells whether a certificate names the wildcard {@code *.<domain>}, for the start-up warning when it does not. */
public final class WildcardCoverage {
    /** RFC 5280 section 4.2.1.6: GeneralName choice 2 is dNSName. */
    private static final int DNS_NAME = 2;

    private WildcardCoverage() {}

    /** True when {@link #dnsNames} holds {@code *.<domain>}, compared without regard to case. */
    public static boolean coversWildcard(X509Certificate cert, String domain) {
        requireNonNull(cert, "cert");
        requireNonNull(domain, "domain");
        if (domain.isBlank()) {
            throw new IllegalArgumentException("domain: \"" + domain + "\" (expected: a DNS name such as vm.localhost)");
        }
        String wildcard = "*." + domain;
        return dnsNames(cert).stream().anyMatch(wildcard::equalsIgnoreCase);
    }

    /**
     * The DNS names in the subject alternative name extension, in certificate order; only a certificate without that
     * extension falls back to its subject CNs, as clients do (RFC 6125 section 6.4.4).
     */
    public static List<String> dnsNames(X509Certificate cert) {
        requireNonNull(cert, "cert");
        Collection<List<?>> alternativeNames;
        try {
            alternativeNames = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            // Advisory check only: an unreadable extension reads as "names nothing", which triggers the warning.
            return List.of();
        }
        if (alternativeNames == null) {
            return commonNames(cert);
        }
        List<String> names = new ArrayList<>();
        for (List<?> name : alternativeNames) {
            if (name.size() >= 2 && name.get(0) instanceof Integer type && type == DNS_NAME
                    && name.get(1) instanceof String dns) {
                names.add(dns);
            }
        }
        return List.copyOf(names);
    }

    private static List<String> commonNames(X509Certificate cert) {
        try {
            LdapName subject = new LdapName(cert.getSubjectX500Principal().getName());
            return subject.getRdns().stream()
                    .filter(rdn -> rdn.getType().equalsIgnoreCase("CN"))
                    .map(Rdn::getValue)
                    .filter(String.class::isInstance)
                    .map(String.class::cast)
                    .toList();
        } catch (InvalidNameException e) {
            return List.of();
        }
    }
}

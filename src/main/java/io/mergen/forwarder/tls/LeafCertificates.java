package io.mergen.forwarder.tls;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/** Encodes and signs X.509 v3 server certificates (RFC 5280) for one DNS name with a fresh EC P-256 key. */
final class LeafCertificates {
    static final Duration BACKDATE = Duration.ofMinutes(5);
    static final Duration LIFETIME = Duration.ofHours(24);

    private static final int BOOLEAN = 0x01;
    private static final int BIT_STRING = 0x03;
    private static final int UTF8_STRING = 0x0C;
    private static final int UTC_TIME = 0x17;
    private static final int GENERALIZED_TIME = 0x18;
    private static final int SET = 0x31;
    /** Context-specific, constructed [3]: the TBSCertificate's extensions. */
    private static final int CONTEXT_3 = 0xA3;
    /** Context-specific, primitive [0]: AuthorityKeyIdentifier's keyIdentifier (implicit tagging). */
    private static final int CONTEXT_0_PRIMITIVE = 0x80;
    /** Context-specific, primitive [2]: GeneralName's dNSName (implicit IA5String). */
    private static final int DNS_NAME = 0x82;

    private static final String COMMON_NAME = "2.5.4.3";
    private static final String SUBJECT_KEY_IDENTIFIER = "2.5.29.14";
    private static final String KEY_USAGE = "2.5.29.15";
    private static final String SUBJECT_ALT_NAME = "2.5.29.17";
    private static final String BASIC_CONSTRAINTS = "2.5.29.19";
    private static final String AUTHORITY_KEY_IDENTIFIER = "2.5.29.35";
    private static final String EXTENDED_KEY_USAGE = "2.5.29.37";
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
    private static final String SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
    /** ub-common-name (RFC 5280 appendix A.1); a longer name goes only into the subjectAltName. */
    private static final int MAX_COMMON_NAME = 64;

    private static final DateTimeFormatter UTC_TIME_FORMAT =
            DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter GENERALIZED_TIME_FORMAT =
            DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final SecureRandom random = new SecureRandom();

    private LeafCertificates() {}

    /**
     * A certificate for {@code dnsName} (already lower-case and valid) signed by {@code caChain.getFirst()} with
     * {@code caKey}, returned with its key and followed by the CA chain.
     */
    static KeyMaterial issue(String dnsName, List<X509Certificate> caChain, PrivateKey caKey, Instant now) {
        X509Certificate ca = caChain.getFirst();
        Instant notBefore = now.minus(BACKDATE).truncatedTo(ChronoUnit.SECONDS);
        Instant notAfter = now.plus(LIFETIME).truncatedTo(ChronoUnit.SECONDS);
        Instant caNotAfter = ca.getNotAfter().toInstant();
        if (notAfter.isAfter(caNotAfter)) {
            notAfter = caNotAfter;
        }
        if (!notAfter.isAfter(now)) {
            throw new IllegalStateException("cannot issue a certificate for " + dnsName + ": the CA "
                    + ca.getSubjectX500Principal().getName() + " expired at " + caNotAfter);
        }
        KeyPair leafKey = ecP256KeyPair();
        byte[] signatureAlgorithm = signatureAlgorithm(caKey);
        byte[] tbs = Der.element(Der.SEQUENCE,
                Der.element(Der.CONTEXT_0, Der.integer(2)), // version v3
                Der.element(Der.INTEGER, serialNumber().toByteArray()),
                signatureAlgorithm,
                // Copied byte for byte: clients match issuer to the CA's subject by their encodings.
                subjectOf(ca),
                Der.element(Der.SEQUENCE, time(notBefore), time(notAfter)),
                dnsName.length() <= MAX_COMMON_NAME ? commonName(dnsName) : Der.element(Der.SEQUENCE),
                leafKey.getPublic().getEncoded(),
                Der.element(CONTEXT_3, extensions(dnsName, leafKey.getPublic(), ca)));
        byte[] certificate = Der.element(Der.SEQUENCE, tbs, signatureAlgorithm,
                bitString(sign(caKey, tbs)));
        List<X509Certificate> chain = new ArrayList<>();
        try {
            chain.add(parse(certificate));
        } catch (CertificateException e) {
            throw new IllegalStateException("the JDK rejected a certificate issued for " + dnsName, e);
        }
        chain.addAll(caChain);
        return new KeyMaterial(chain, leafKey.getPrivate());
    }

    static X509Certificate parse(byte[] der) throws CertificateException {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    private static byte[] extensions(String dnsName, PublicKey leafKey, X509Certificate ca) {
        List<byte[]> extensions = new ArrayList<>();
        // An empty subject is allowed only with a critical subjectAltName (RFC 5280 section 4.2.1.6).
        extensions.add(extension(SUBJECT_ALT_NAME, dnsName.length() > MAX_COMMON_NAME,
                Der.element(Der.SEQUENCE, Der.element(DNS_NAME, dnsName.getBytes(StandardCharsets.US_ASCII)))));
        extensions.add(extension(BASIC_CONSTRAINTS, true, Der.element(Der.SEQUENCE))); // cA defaults to FALSE
        // digitalSignature is bit 0: one byte 0x80 with its 7 unused trailing bits (X.690 section 11.2.2).
        extensions.add(extension(KEY_USAGE, true, Der.element(BIT_STRING, new byte[] {7, (byte) 0x80})));
        extensions.add(extension(EXTENDED_KEY_USAGE, false,
                Der.element(Der.SEQUENCE, Der.objectIdentifier(SERVER_AUTH))));
        byte[] caKeyId = subjectKeyIdentifierOf(ca);
        if (caKeyId != null) {
            extensions.add(extension(AUTHORITY_KEY_IDENTIFIER, false,
                    Der.element(Der.SEQUENCE, Der.element(CONTEXT_0_PRIMITIVE, caKeyId))));
        }
        extensions.add(extension(SUBJECT_KEY_IDENTIFIER, false, Der.element(Der.OCTET_STRING, keyIdentifier(leafKey))));
        return Der.element(Der.SEQUENCE, extensions.toArray(byte[][]::new));
    }

    /** critical is BOOLEAN DEFAULT FALSE, and DER omits a default value (X.690 section 11.5). */
    private static byte[] extension(String oid, boolean critical, byte[] value) {
        byte[] octets = Der.element(Der.OCTET_STRING, value);
        return critical
                ? Der.element(Der.SEQUENCE, Der.objectIdentifier(oid), Der.element(BOOLEAN, new byte[] {(byte) 0xFF}),
                        octets)
                : Der.element(Der.SEQUENCE, Der.objectIdentifier(oid), octets);
    }

    private static byte[] commonName(String name) {
        byte[] attribute = Der.element(Der.SEQUENCE, Der.objectIdentifier(COMMON_NAME),
                Der.element(UTF8_STRING, name.getBytes(StandardCharsets.UTF_8)));
        return Der.element(Der.SEQUENCE, Der.element(SET, attribute));
    }

    /** TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, ... (RFC 5280 4.1). */
    static byte[] subjectOf(X509Certificate certificate) {
        try {
            Der.Reader tbs = new Der.Reader(certificate.getTBSCertificate()).next(Der.SEQUENCE).contents();
            Der.Element first = tbs.next();
            if (first.tag() == Der.CONTEXT_0) {
                tbs.next(Der.INTEGER);
            }
            tbs.next(Der.SEQUENCE); // signature
            tbs.next(Der.SEQUENCE); // issuer
            tbs.next(Der.SEQUENCE); // validity
            return tbs.next(Der.SEQUENCE).encoded();
        } catch (CertificateException e) {
            throw new IllegalStateException("cannot re-encode the CA certificate", e);
        }
    }

    /** The extension's value is an OCTET STRING holding the DER of the KeyIdentifier, itself an OCTET STRING. */
    static byte[] subjectKeyIdentifierOf(X509Certificate certificate) {
        byte[] extension = certificate.getExtensionValue(SUBJECT_KEY_IDENTIFIER);
        if (extension == null) {
            return null;
        }
        return new Der.Reader(extension).next(Der.OCTET_STRING).contents().next(Der.OCTET_STRING).value();
    }

    /** RFC 5280 section 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
    static byte[] keyIdentifier(PublicKey key) {
        Der.Reader info = new Der.Reader(key.getEncoded()).next(Der.SEQUENCE).contents();
        info.next(Der.SEQUENCE);
        byte[] bits = info.next(BIT_STRING).value();
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            sha1.update(bits, 1, bits.length - 1); // skip the unused-bits count
            return sha1.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no SHA-1", e);
        }
    }

    /** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 section 4.1.2.5). */
    private static byte[] time(Instant instant) {
        int year = instant.atZone(ZoneOffset.UTC).getYear();
        return year < 2050
                ? Der.element(UTC_TIME, UTC_TIME_FORMAT.format(instant).getBytes(StandardCharsets.US_ASCII))
                : Der.element(GENERALIZED_TIME, GENERALIZED_TIME_FORMAT.format(instant).getBytes(StandardCharsets.US_ASCII));
    }

    /** 16 random bytes, positive and non-zero (RFC 5280 section 4.1.2.2 allows up to 20 octets). */
    private static BigInteger serialNumber() {
        byte[] bytes = new byte[16];
        BigInteger serial;
        do {
            random.nextBytes(bytes);
            bytes[0] &= 0x7F;
            serial = new BigInteger(1, bytes);
        } while (serial.signum() == 0);
        return serial;
    }

    private static byte[] bitString(byte[] bytes) {
        byte[] value = new byte[bytes.length + 1]; // first octet: no unused bits
        System.arraycopy(bytes, 0, value, 1, bytes.length);
        return Der.element(BIT_STRING, value);
    }

    /** ecdsa-with-SHA256 has no parameters (RFC 5758 section 3.2); RSA's parameters are NULL (RFC 4055 section 5). */
    private static byte[] signatureAlgorithm(PrivateKey caKey) {
        return switch (caKey) {
            case ECPrivateKey _ -> Der.element(Der.SEQUENCE, Der.objectIdentifier(ECDSA_WITH_SHA256));
            case RSAPrivateKey _ -> Der.element(Der.SEQUENCE, Der.objectIdentifier(SHA256_WITH_RSA),
                    Der.nullElement());
            default -> throw new IllegalArgumentException(
                    "caKey: " + caKey.getAlgorithm() + " (expected: an EC or RSA private key)");
        };
    }

    private static byte[] sign(PrivateKey caKey, byte[] tbs) {
        try {
            Signature signature = Signature.getInstance(caKey instanceof ECPrivateKey ? "SHA256withECDSA" : "SHA256withRSA");
            signature.initSign(caKey);
            signature.update(tbs);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign with the CA key (" + caKey.getAlgorithm() + ")", e);
        }
    }

    private static KeyPair ecP256KeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), random);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot generate EC P-256 keys", e);
        }
    }
}

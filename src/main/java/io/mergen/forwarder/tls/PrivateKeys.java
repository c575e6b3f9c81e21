package io.mergen.forwarder.tls;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the one private key block of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC) into a JDK {@link PrivateKey},
 * re-wrapping the legacy forms as PKCS#8, and checks that a key belongs to a public key.
 */
final class PrivateKeys {
    static final String PKCS8 = "PRIVATE KEY";
    static final String PKCS1_RSA = "RSA PRIVATE KEY";
    static final String SEC1_EC = "EC PRIVATE KEY";
    static final String PKCS8_ENCRYPTED = "ENCRYPTED PRIVATE KEY";
    /** openssl ecparam -genkey writes the curve in its own block before the key; the key repeats it. */
    static final String EC_PARAMETERS = "EC PARAMETERS";

    private static final String RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
    private static final String EC_PUBLIC_KEY = "1.2.840.10045.2.1";
    /** Names for the OIDs an operator is likely to meet, so the error says more than digits. */
    private static final Map<String, String> KNOWN_ALGORITHMS = Map.of(
            RSA_ENCRYPTION, "RSA",
            EC_PUBLIC_KEY, "EC",
            "1.2.840.113549.1.1.10", "RSASSA-PSS",
            "1.3.101.112", "Ed25519",
            "1.3.101.113", "Ed448",
            "1.2.840.10040.4.1", "DSA");
    private static final Set<String> KEY_TYPES = Set.of(PKCS8, PKCS1_RSA, SEC1_EC, PKCS8_ENCRYPTED);

    private PrivateKeys() {}

    /** Finds and decodes the single private key among {@code blocks}; certificates and EC parameters are skipped. */
    static PrivateKey decode(List<PemBlocks.Block> blocks) {
        List<PemBlocks.Block> keys = blocks.stream().filter(b -> KEY_TYPES.contains(b.type())).toList();
        if (keys.isEmpty()) {
            throw new InvalidMaterialException("no private key found (" + PemBlocks.describe(blocks)
                    + "; expected: " + PKCS8 + ", " + PKCS1_RSA + " or " + SEC1_EC + ")");
        }
        if (keys.size() > 1) {
            throw new InvalidMaterialException(keys.size() + " private keys found (expected: exactly one)");
        }
        PemBlocks.Block block = keys.getFirst();
        if (block.type().equals(PKCS8_ENCRYPTED) || block.encrypted()) {
            throw new InvalidMaterialException("encrypted private keys are not supported"
                    + " (decrypt it first, e.g. openssl pkey -in key.pem -out plain.pem)");
        }
        byte[] pkcs8 = switch (block.type()) {
            case PKCS1_RSA -> pkcs1ToPkcs8(block.der());
            case SEC1_EC -> sec1ToPkcs8(block.der());
            default -> block.der();
        };
        return fromPkcs8(pkcs8);
    }

    /** PKCS#8 (RFC 5208): SEQUENCE { INTEGER 0, AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING pkcs1 }. */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        Der.Reader key = new Der.Reader(pkcs1).next(Der.SEQUENCE).contents();
        key.next(Der.INTEGER); // version; the RSA fields themselves are checked by the KeyFactory
        byte[] algorithm = Der.element(Der.SEQUENCE, Der.objectIdentifier(RSA_ENCRYPTION), Der.nullElement());
        return Der.element(Der.SEQUENCE, Der.integer(0), algorithm, Der.element(Der.OCTET_STRING, pkcs1));
    }

    /**
     * SEC1 (RFC 5915): SEQUENCE { INTEGER 1, OCTET STRING key, [0] namedCurve OPTIONAL, [1] publicKey OPTIONAL }
     * becomes PKCS#8 with AlgorithmIdentifier { id-ecPublicKey, namedCurve }; the SEC1 structure is kept whole as the
     * key octets, which RFC 5915 section 3 allows.
     */
    static byte[] sec1ToPkcs8(byte[] sec1) {
        Der.Reader key = new Der.Reader(sec1).next(Der.SEQUENCE).contents();
        key.next(Der.INTEGER);
        key.next(Der.OCTET_STRING);
        byte[] curve = null;
        while (key.hasMore()) {
            Der.Element field = key.next();
            if (field.tag() == Der.CONTEXT_0) {
                Der.Element parameters = field.contents().next();
                if (parameters.tag() != Der.OBJECT_IDENTIFIER) {
                    throw new InvalidMaterialException(
                            "EC key has explicit curve parameters; only named curves are supported");
                }
                curve = parameters.encoded();
            }
        }
        if (curve == null) {
            throw new InvalidMaterialException("EC key does not name its curve (no [0] parameters)");
        }
        byte[] algorithm = Der.element(Der.SEQUENCE, Der.objectIdentifier(EC_PUBLIC_KEY), curve);
        return Der.element(Der.SEQUENCE, Der.integer(0), algorithm, Der.element(Der.OCTET_STRING, sec1));
    }

    /** Reads the algorithm OID of a PKCS#8 PrivateKeyInfo and decodes the key with the matching JDK KeyFactory. */
    static PrivateKey fromPkcs8(byte[] pkcs8) {
        Der.Reader info = new Der.Reader(pkcs8).next(Der.SEQUENCE).contents();
        info.next(Der.INTEGER);
        String oid = Der.objectIdentifier(info.next(Der.SEQUENCE).contents().next(Der.OBJECT_IDENTIFIER).value());
        String algorithm = switch (oid) {
            case RSA_ENCRYPTION -> "RSA";
            case EC_PUBLIC_KEY -> "EC";
            default -> throw new InvalidMaterialException("unsupported key type "
                    + KNOWN_ALGORITHMS.getOrDefault(oid, "with OID " + oid) + " (expected: RSA or EC)");
        };
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (GeneralSecurityException e) {
            throw new InvalidMaterialException("invalid " + algorithm + " private key: " + e.getMessage(), e);
        }
    }

    /**
     * True when {@code key} is the private half of the public key in {@code certificate}. An EC pair is judged by
     * BoringSSL when it is loaded, which is quick; otherwise, and for RSA, as {@link #matches(PrivateKey, PublicKey)}.
     */
    static boolean matches(PrivateKey key, X509Certificate certificate) {
        if (key instanceof ECPrivateKey && certificate.getPublicKey() instanceof ECPublicKey) {
            Optional<Boolean> judged = BoringSslKeyPairCheck.matches(key, certificate);
            if (judged.isPresent()) {
                return judged.get();
            }
        }
        return matches(key, certificate.getPublicKey());
    }

    /**
     * True when {@code key} is the private half of {@code publicKey}: RSA keys share modulus and exponent; EC keys
     * share the curve and a fresh signature made with the private key verifies with the public one.
     */
    static boolean matches(PrivateKey key, PublicKey publicKey) {
        return switch (key) {
            case RSAPrivateCrtKey rsa when publicKey instanceof RSAPublicKey pub ->
                    rsa.getModulus().equals(pub.getModulus()) && rsa.getPublicExponent().equals(pub.getPublicExponent());
            case RSAPrivateKey rsa when publicKey instanceof RSAPublicKey pub -> rsa.getModulus().equals(pub.getModulus());
            case ECPrivateKey ec when publicKey instanceof ECPublicKey pub ->
                    sameCurve(ec.getParams(), pub.getParams()) && signatureVerifies(ec, pub);
            default -> false;
        };
    }

    private static boolean sameCurve(ECParameterSpec a, ECParameterSpec b) {
        return a.getCurve().equals(b.getCurve()) && a.getGenerator().equals(b.getGenerator())
                && a.getOrder().equals(b.getOrder()) && a.getCofactor() == b.getCofactor();
    }

    private static boolean signatureVerifies(ECPrivateKey key, ECPublicKey publicKey) {
        byte[] challenge = new byte[32];
        new SecureRandom().nextBytes(challenge);
        try {
            Signature signer = Signature.getInstance("SHA256withECDSA");
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance("SHA256withECDSA");
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}

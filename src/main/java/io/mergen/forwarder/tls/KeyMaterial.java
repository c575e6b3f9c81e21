package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import io.mergen.forwarder.config.ConfigException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's certificate chain (leaf first) and its private key, loaded from PEM files and checked to belong
 * together.
 */
public record KeyMaterial(List<X509Certificate> chain, PrivateKey key) {
    private static final Logger log = LoggerFactory.getLogger(KeyMaterial.class);
    static final String CERT_VARIABLE = "FWD_TLS_CERT_FILE";
    static final String KEY_VARIABLE = "FWD_TLS_KEY_FILE";

    public KeyMaterial {
        chain = List.copyOf(requireNonNull(chain, "chain"));
        requireNonNull(key, "key");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("chain: [] (expected: at least one certificate)");
        }
    }

    /**
     * Loads a PEM certificate chain (leaf first) and a PEM private key. Every problem becomes a
     * {@link ConfigException} naming {@code FWD_TLS_CERT_FILE} or {@code FWD_TLS_KEY_FILE} and the path; a
     * certificate outside its validity period is only logged, so an operator can still start with it.
     */
    public static KeyMaterial load(Path certFile, Path keyFile) {
        requireNonNull(certFile, "certFile");
        requireNonNull(keyFile, "keyFile");
        List<X509Certificate> chain = decoded(CERT_VARIABLE, certFile,
                () -> certificates(PemBlocks.parse(read(CERT_VARIABLE, certFile))));
        PrivateKey key = decoded(KEY_VARIABLE, keyFile,
                () -> PrivateKeys.decode(PemBlocks.parse(read(KEY_VARIABLE, keyFile))));
        if (!PrivateKeys.matches(key, chain.getFirst())) {
            throw new ConfigException(KEY_VARIABLE, keyFile.toString(), mismatch(key, chain, certFile));
        }
        warnIfOutsideValidity(chain, certFile);
        warnIfOutOfOrder(chain, certFile);
        return new KeyMaterial(chain, key);
    }

    /** The certificate that names this server and holds the public half of {@link #key()}. */
    public X509Certificate leaf() {
        return chain.getFirst();
    }

    /** Names the certificates only: the default record form would hand the private key to whatever prints it. */
    @Override
    public String toString() {
        return "KeyMaterial[leaf=" + leaf().getSubjectX500Principal().getName() + ", chain=" + chain.size()
                + " certificate(s), key=" + key.getAlgorithm() + "]";
    }

    static <T> T decoded(String variable, Path file, Supplier<T> decoder) {
        try {
            return decoder.get();
        } catch (InvalidMaterialException e) {
            throw new ConfigException(variable, file.toString(), e.getMessage());
        }
    }

    /** PEM is ASCII; ISO-8859-1 maps every byte, so a binary file reaches the parser and gets a precise message. */
    static String read(String variable, Path file) {
        if (Files.isDirectory(file)) {
            throw new ConfigException(variable, file.toString(), "is a directory, not a PEM file");
        }
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new ConfigException(variable, file.toString(), "file does not exist");
        } catch (AccessDeniedException e) {
            throw new ConfigException(variable, file.toString(), "file is not readable (permission denied)");
        } catch (IOException e) {
            throw new ConfigException(variable, file.toString(), "cannot read file: " + e);
        }
    }

    static List<X509Certificate> certificates(List<PemBlocks.Block> blocks) {
        List<PemBlocks.Block> certificates = blocks.stream().filter(b -> b.type().equals("CERTIFICATE")).toList();
        if (certificates.isEmpty()) {
            throw new InvalidMaterialException("no CERTIFICATE block found (" + PemBlocks.describe(blocks) + ")");
        }
        CertificateFactory factory = x509Factory();
        List<X509Certificate> chain = new ArrayList<>();
        for (PemBlocks.Block block : certificates) {
            try {
                chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.der())));
            } catch (CertificateException e) {
                throw new InvalidMaterialException("certificate " + (chain.size() + 1) + " of " + certificates.size()
                        + " is not a valid X.509 DER encoding: " + e.getMessage(), e);
            }
        }
        return List.copyOf(chain);
    }

    private static CertificateFactory x509Factory() {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
        }
    }

    private static String mismatch(PrivateKey key, List<X509Certificate> chain, Path certFile) {
        String certAlgorithm = chain.getFirst().getPublicKey().getAlgorithm();
        if (!certAlgorithm.equals(key.getAlgorithm())) {
            return "private key is " + key.getAlgorithm() + " but the public key of the certificate in "
                    + CERT_VARIABLE + "=" + certFile + " is " + certAlgorithm;
        }
        for (int i = 1; i < chain.size(); i++) {
            if (PrivateKeys.matches(key, chain.get(i))) {
                return "private key belongs to certificate " + (i + 1) + " in " + CERT_VARIABLE + "=" + certFile
                        + ", but the server's own (leaf) certificate must come first";
            }
        }
        return "private key does not match the certificate in " + CERT_VARIABLE + "=" + certFile + " ("
                + chain.getFirst().getSubjectX500Principal().getName() + ")";
    }

    private static void warnIfOutsideValidity(List<X509Certificate> chain, Path certFile) {
        for (X509Certificate certificate : chain) {
            try {
                certificate.checkValidity();
            } catch (CertificateExpiredException e) {
                log.warn("certificate has expired; clients will reject it: certFile={}, subject={}, notAfter={}",
                        certFile, certificate.getSubjectX500Principal().getName(), certificate.getNotAfter().toInstant());
            } catch (CertificateNotYetValidException e) {
                log.warn("certificate is not valid yet; clients will reject it: certFile={}, subject={}, notBefore={}",
                        certFile, certificate.getSubjectX500Principal().getName(), certificate.getNotBefore().toInstant());
            }
        }
    }

    /** Clients need each certificate followed by its issuer; a shuffled chain fails only on some clients. */
    private static void warnIfOutOfOrder(List<X509Certificate> chain, Path certFile) {
        for (int i = 0; i + 1 < chain.size(); i++) {
            if (!chain.get(i).getIssuerX500Principal().equals(chain.get(i + 1).getSubjectX500Principal())) {
                log.warn("certificate chain is out of order: certificate {} was not issued by certificate {}:"
                        + " certFile={}, issuer={}, next={}", i + 1, i + 2, certFile,
                        chain.get(i).getIssuerX500Principal().getName(),
                        chain.get(i + 1).getSubjectX500Principal().getName());
            }
        }
    }
}

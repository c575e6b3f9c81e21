package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Issues throw-away server certificates with the {@code openssl} CLI: a self-signed test CA and a leaf for the given
 * DNS names, written as PEM files into a folder, for tests of this package and end-to-end tests.
 */
public final class TestCertificates {
    private static final long TIMEOUT_SECONDS = 60;
    private static final SecureRandom random = new SecureRandom();

    private TestCertificates() {}

    /** The leaf key's PEM form; {@code pemType} is the BEGIN label openssl writes for it. */
    public enum KeyFormat {
        RSA_PKCS1("RSA PRIVATE KEY", "genrsa", "-traditional", "-out", "%s", "2048"),
        RSA_PKCS8("PRIVATE KEY", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "%s"),
        EC_SEC1("EC PRIVATE KEY", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "%s"),
        /** openssl ecparam -genkey's default output: an EC PARAMETERS block, then the EC PRIVATE KEY. */
        EC_SEC1_WITH_PARAMETERS("EC PRIVATE KEY", "ecparam", "-name", "prime256v1", "-genkey", "-out", "%s"),
        EC_PKCS8("PRIVATE KEY", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "%s");

        private final String pemType;
        private final List<String> command;

        KeyFormat(String pemType, String... command) {
            this.pemType = pemType;
            this.command = List.of(command);
        }

        public String pemType() {
            return pemType;
        }

        public boolean rsa() {
            return name().startsWith("RSA");
        }
    }

    /** Paths of what {@code issue} wrote: the server's chain (leaf first), its key, and the CA a client trusts. */
    public record Issued(Path certFile, Path keyFile, Path caFile) {}

    /** A CA-signed EC P-256 leaf for {@code dnsNames} (the first is also the subject CN). */
    public static Issued issue(Path dir, String... dnsNames) {
        return issue(dir, KeyFormat.EC_PKCS8, dnsNames);
    }

    public static Issued issue(Path dir, KeyFormat format, String... dnsNames) {
        requireDnsNames(dnsNames);
        return issue(dir, format, dnsNames[0], List.of(dnsNames), false);
    }

    /** Like {@link #issue(Path, KeyFormat, String...)}, but signed by an intermediate that follows the leaf in certFile. */
    public static Issued issueWithIntermediate(Path dir, KeyFormat format, String... dnsNames) {
        requireDnsNames(dnsNames);
        return issue(dir, format, dnsNames[0], List.of(dnsNames), true);
    }

    /**
     * Writes into {@code dir} (which should hold nothing else of ours): ca.pem and ca-key.pem, optionally
     * intermediate.pem, and the leaf as cert.pem with key.pem. With no {@code dnsNames} the leaf has no subject
     * alternative name extension at all, only its CN.
     */
    static Issued issue(Path dir, KeyFormat format, String commonName, List<String> dnsNames, boolean intermediate) {
        requireNonNull(format, "format");
        requireNonNull(commonName, "commonName");
        createDirectories(dir);
        Path ca = dir.resolve("ca.pem");
        Path caKey = dir.resolve("ca-key.pem");
        ecKey(dir, caKey);
        selfSign(dir, caKey, "mergen test CA", ca);
        Path issuer = ca;
        Path issuerKey = caKey;
        if (intermediate) {
            issuer = dir.resolve("intermediate.pem");
            issuerKey = dir.resolve("intermediate-key.pem");
            ecKey(dir, issuerKey);
            sign(dir, issuerKey, "mergen test intermediate", ca, caKey, issuer,
                    "basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\n");
        }
        Path key = dir.resolve("key.pem");
        privateKey(dir, format, key);
        StringBuilder extensions = new StringBuilder();
        if (!dnsNames.isEmpty()) {
            extensions.append("basicConstraints = critical, CA:FALSE\n")
                    .append("keyUsage = critical, digitalSignature\n")
                    .append("extendedKeyUsage = serverAuth\n")
                    .append("subjectAltName = ")
                    .append(dnsNames.stream().map(n -> "DNS:" + n).collect(Collectors.joining(", ")))
                    .append('\n');
        }
        Path cert = dir.resolve("cert.pem");
        sign(dir, key, commonName, issuer, issuerKey, cert, extensions.toString());
        if (intermediate) {
            write(cert, read(cert) + read(issuer));
        }
        return new Issued(cert, key, ca);
    }

    /** Generates a private key in {@code format} at {@code file} and checks openssl wrote the expected PEM label. */
    public static Path privateKey(Path dir, KeyFormat format, Path file) {
        List<String> args = format.command.stream().map(a -> a.equals("%s") ? file.toString() : a).toList();
        openssl(dir, args.toArray(String[]::new));
        String pem = read(file);
        if (!pem.contains("-----BEGIN " + format.pemType() + "-----")) {
            throw new IllegalStateException("openssl wrote no " + format.pemType() + " block for " + format + ":\n" + pem);
        }
        return file;
    }

    /** A client context that trusts only the CA in {@code caFile}. */
    public static SSLContext trustingClient(Path caFile) {
        try (InputStream in = Files.newInputStream(caFile)) {
            X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("mergen-test-ca", ca);
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a client trusting " + caFile, e);
        }
    }

    /** Runs {@code openssl args...} in {@code dir} and returns its output; a non-zero exit fails with that output. */
    public static String openssl(Path dir, String... args) {
        List<String> command = new ArrayList<>();
        command.add("openssl");
        command.addAll(Arrays.asList(args));
        return run(dir, command);
    }

    static String run(Path dir, List<String> command) {
        try {
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + command);
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("exit " + process.exitValue() + ": " + command + "\n" + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + command, e);
        }
    }

    private static void ecKey(Path dir, Path file) {
        openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file.toString());
    }

    private static void selfSign(Path dir, Path key, String commonName, Path out) {
        Path csr = csr(dir, key, commonName);
        Path extensions = extensions(dir, "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
                + "subjectKeyIdentifier = hash\n");
        openssl(dir, "x509", "-req", "-in", csr.toString(), "-signkey", key.toString(), "-days", "7", "-sha256",
                "-set_serial", serial(), "-extfile", extensions.toString(), "-out", out.toString());
    }

    private static void sign(Path dir, Path key, String commonName, Path issuer, Path issuerKey, Path out,
            String extensionText) {
        Path csr = csr(dir, key, commonName);
        List<String> args = new ArrayList<>(List.of("x509", "-req", "-in", csr.toString(), "-CA", issuer.toString(),
                "-CAkey", issuerKey.toString(), "-days", "7", "-sha256", "-set_serial", serial(), "-out", out.toString()));
        if (!extensionText.isEmpty()) {
            args.addAll(List.of("-extfile", extensions(dir, extensionText).toString()));
        }
        openssl(dir, args.toArray(String[]::new));
    }

    private static Path csr(Path dir, Path key, String commonName) {
        Path csr = dir.resolve("request.csr");
        openssl(dir, "req", "-new", "-key", key.toString(), "-subj", "/CN=" + commonName, "-out", csr.toString());
        return csr;
    }

    private static Path extensions(Path dir, String text) {
        Path file = dir.resolve("extensions.cnf");
        write(file, text);
        return file;
    }

    private static String serial() {
        byte[] serial = new byte[8];
        random.nextBytes(serial);
        serial[0] &= 0x7F; // a positive serial number (RFC 5280 section 4.1.2.2)
        return "0x" + HexFormat.of().formatHex(serial);
    }

    private static void requireDnsNames(String[] dnsNames) {
        if (dnsNames.length == 0) {
            throw new IllegalArgumentException("dnsNames: [] (expected: at least one, such as *.localhost)");
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

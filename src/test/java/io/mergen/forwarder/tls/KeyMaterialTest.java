package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mergen.forwarder.config.ConfigException;
import io.mergen.forwarder.tls.TestCertificates.Issued;
import io.mergen.forwarder.tls.TestCertificates.KeyFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPrivateKey;
import java.util.List;
import java.util.Random;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

class KeyMaterialTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(KeyFormat.class)
    void loadsEveryKeyFormat(KeyFormat format) {
        Issued issued = TestCertificates.issue(dir, format, "*.localhost");
        if (format == KeyFormat.EC_SEC1_WITH_PARAMETERS) {
            assertThat(TestCertificates.read(issued.keyFile())).startsWith("-----BEGIN EC PARAMETERS-----");
        }

        KeyMaterial material = KeyMaterial.load(issued.certFile(), issued.keyFile());

        assertThat(material.chain()).hasSize(1);
        assertThat(material.leaf().getSubjectX500Principal().getName()).isEqualTo("CN=*.localhost");
        assertThat(material.key().getAlgorithm()).isEqualTo(format.rsa() ? "RSA" : "EC");
        assertThat(material.leaf().getPublicKey().getAlgorithm()).isEqualTo(material.key().getAlgorithm());
    }

    @Test
    void keepsTheChainInFileOrderLeafFirst() {
        Issued issued = TestCertificates.issueWithIntermediate(dir, KeyFormat.EC_PKCS8, "*.vm.localhost");

        KeyMaterial material = KeyMaterial.load(issued.certFile(), issued.keyFile());

        assertThat(material.chain()).extracting(c -> c.getSubjectX500Principal().getName())
                .containsExactly("CN=*.vm.localhost", "CN=mergen test intermediate");
        assertThat(material.leaf()).isSameAs(material.chain().getFirst());
    }

    @Test
    void readsCrlfFilesWithLeadingTextAndTrailingBlankLines() throws IOException {
        Issued issued = TestCertificates.issueWithIntermediate(dir, KeyFormat.EC_SEC1_WITH_PARAMETERS, "*.localhost");
        Path cert = dir.resolve("crlf-cert.pem");
        Path key = dir.resolve("crlf-key.pem");
        Files.writeString(cert, crlf("subject=CN = *.localhost\n" + TestCertificates.read(issued.certFile()) + "\n\n"));
        Files.writeString(key, crlf("# the key\n" + TestCertificates.read(issued.keyFile()) + "\n"));
        assertThat(Files.readString(cert)).contains("-----\r\n");

        KeyMaterial material = KeyMaterial.load(cert, key);

        assertThat(material.chain()).hasSize(2);
        assertThat(material.key().getAlgorithm()).isEqualTo("EC");
    }

    @Test
    void acceptsCertificateAndKeyInOneFile() throws IOException {
        Issued issued = TestCertificates.issue(dir, KeyFormat.RSA_PKCS1, "*.localhost");
        Path combined = dir.resolve("combined.pem");
        Files.writeString(combined, TestCertificates.read(issued.keyFile()) + TestCertificates.read(issued.certFile()));

        assertThat(KeyMaterial.load(combined, combined).key().getAlgorithm()).isEqualTo("RSA");
    }

    @Test
    void rejectsAnRsaKeyOfAnotherRsaCertificate() {
        Issued one = TestCertificates.issue(dir.resolve("one"), KeyFormat.RSA_PKCS8, "*.localhost");
        Issued two = TestCertificates.issue(dir.resolve("two"), KeyFormat.RSA_PKCS1, "*.localhost");

        assertConfigError(() -> KeyMaterial.load(one.certFile(), two.keyFile()), "FWD_TLS_KEY_FILE", two.keyFile())
                .hasMessageContaining("private key does not match the certificate in FWD_TLS_CERT_FILE=" + one.certFile());
    }

    @Test
    void rejectsAnEcKeyOfAnotherEcCertificate() {
        Issued one = TestCertificates.issue(dir.resolve("one"), KeyFormat.EC_PKCS8, "*.localhost");
        Issued two = TestCertificates.issue(dir.resolve("two"), KeyFormat.EC_SEC1, "*.localhost");

        assertConfigError(() -> KeyMaterial.load(one.certFile(), two.keyFile()), "FWD_TLS_KEY_FILE", two.keyFile())
                .hasMessageContaining("private key does not match the certificate");
    }

    @Test
    void rejectsAnEcKeyForAnRsaCertificate() {
        Issued rsa = TestCertificates.issue(dir.resolve("rsa"), KeyFormat.RSA_PKCS8, "*.localhost");
        Issued ec = TestCertificates.issue(dir.resolve("ec"), KeyFormat.EC_PKCS8, "*.localhost");

        assertConfigError(() -> KeyMaterial.load(rsa.certFile(), ec.keyFile()), "FWD_TLS_KEY_FILE", ec.keyFile())
                .hasMessageContaining("private key is EC but the public key of the certificate in FWD_TLS_CERT_FILE="
                        + rsa.certFile() + " is RSA");
    }

    @Test
    void explainsAChainThatDoesNotStartWithTheLeaf() throws IOException {
        Issued issued = TestCertificates.issue(dir, KeyFormat.EC_PKCS8, "*.localhost");
        Path reversed = dir.resolve("reversed.pem");
        Files.writeString(reversed, TestCertificates.read(issued.caFile()) + TestCertificates.read(issued.certFile()));

        assertConfigError(() -> KeyMaterial.load(reversed, issued.keyFile()), "FWD_TLS_KEY_FILE", issued.keyFile())
                .hasMessageContaining("private key belongs to certificate 2")
                .hasMessageContaining("must come first");
    }

    @ParameterizedTest
    @ValueSource(strings = {"pkcs8", "rsa-traditional", "ec-traditional"})
    void rejectsEncryptedKeys(String kind) {
        Issued issued = TestCertificates.issue(dir, kind.startsWith("rsa") ? KeyFormat.RSA_PKCS1 : KeyFormat.EC_SEC1,
                "*.localhost");
        String in = issued.keyFile().toString();
        switch (kind) {
            case "pkcs8" -> TestCertificates.openssl(dir, "pkey", "-in", in, "-aes256", "-passout", "pass:secret",
                    "-out", "encrypted.pem");
            case "rsa-traditional" -> TestCertificates.openssl(dir, "rsa", "-in", in, "-traditional", "-aes256",
                    "-passout", "pass:secret", "-out", "encrypted.pem");
            default -> TestCertificates.openssl(dir, "ec", "-in", in, "-aes256", "-passout", "pass:secret",
                    "-out", "encrypted.pem");
        }
        Path encrypted = dir.resolve("encrypted.pem");
        assertThat(TestCertificates.read(encrypted)).containsAnyOf("ENCRYPTED PRIVATE KEY", "Proc-Type: 4,ENCRYPTED");

        assertConfigError(() -> KeyMaterial.load(issued.certFile(), encrypted), "FWD_TLS_KEY_FILE", encrypted)
                .hasMessageContaining("encrypted private keys are not supported");
    }

    @Test
    void rejectsAnUnsupportedKeyType() {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        TestCertificates.openssl(dir, "genpkey", "-algorithm", "ed25519", "-out", "ed25519.pem");
        Path key = dir.resolve("ed25519.pem");

        assertConfigError(() -> KeyMaterial.load(issued.certFile(), key), "FWD_TLS_KEY_FILE", key)
                .hasMessageContaining("unsupported key type Ed25519");
    }

    @Test
    void rejectsAnEmptyCertificateFile() throws IOException {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        Path empty = Files.createFile(dir.resolve("empty.pem"));

        assertConfigError(() -> KeyMaterial.load(empty, issued.keyFile()), "FWD_TLS_CERT_FILE", empty)
                .hasMessageEndingWith("no CERTIFICATE block found (no PEM blocks in the file)");
    }

    @Test
    void rejectsAnEmptyKeyFile() throws IOException {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        Path empty = Files.createFile(dir.resolve("empty.pem"));

        assertConfigError(() -> KeyMaterial.load(issued.certFile(), empty), "FWD_TLS_KEY_FILE", empty)
                .hasMessageContaining("no private key found (no PEM blocks in the file");
    }

    @Test
    void rejectsGarbage() throws IOException {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        byte[] noise = new byte[4096];
        new Random(42).nextBytes(noise);
        Path garbage = Files.write(dir.resolve("garbage.pem"), noise);

        assertConfigError(() -> KeyMaterial.load(garbage, issued.keyFile()), "FWD_TLS_CERT_FILE", garbage)
                .hasMessageContaining("no CERTIFICATE block found");
        assertConfigError(() -> KeyMaterial.load(issued.certFile(), garbage), "FWD_TLS_KEY_FILE", garbage)
                .hasMessageContaining("no private key found");
    }

    @Test
    void namesSwappedFiles() {
        Issued issued = TestCertificates.issue(dir, "*.localhost");

        assertConfigError(() -> KeyMaterial.load(issued.keyFile(), issued.certFile()), "FWD_TLS_CERT_FILE",
                issued.keyFile())
                .hasMessageEndingWith("no CERTIFICATE block found (found: PRIVATE KEY)");
    }

    @Test
    void rejectsBadBase64() throws IOException {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        Path cert = Files.writeString(dir.resolve("bad.pem"),
                "-----BEGIN CERTIFICATE-----\nMIIB*not base64*\n-----END CERTIFICATE-----\n");

        assertConfigError(() -> KeyMaterial.load(cert, issued.keyFile()), "FWD_TLS_CERT_FILE", cert)
                .hasMessageContaining("bad base64 in CERTIFICATE block");
    }

    @Test
    void rejectsBadDer() throws IOException {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        String good = TestCertificates.read(issued.certFile());
        Path cert = Files.writeString(dir.resolve("bad-cert.pem"),
                good + "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n");
        Path key = Files.writeString(dir.resolve("bad-key.pem"),
                "-----BEGIN PRIVATE KEY-----\nMAUCAQA=\n-----END PRIVATE KEY-----\n");

        assertConfigError(() -> KeyMaterial.load(cert, issued.keyFile()), "FWD_TLS_CERT_FILE", cert)
                .hasMessageContaining("certificate 2 of 2 is not a valid X.509 DER encoding");
        assertConfigError(() -> KeyMaterial.load(issued.certFile(), key), "FWD_TLS_KEY_FILE", key)
                .hasMessageContaining("malformed DER");
    }

    @Test
    void rejectsMissingFiles() {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        Path missing = dir.resolve("missing.pem");

        assertConfigError(() -> KeyMaterial.load(missing, issued.keyFile()), "FWD_TLS_CERT_FILE", missing)
                .hasMessageEndingWith("file does not exist");
        assertConfigError(() -> KeyMaterial.load(issued.certFile(), missing), "FWD_TLS_KEY_FILE", missing)
                .hasMessageEndingWith("file does not exist");
        assertConfigError(() -> KeyMaterial.load(dir, issued.keyFile()), "FWD_TLS_CERT_FILE", dir)
                .hasMessageEndingWith("is a directory, not a PEM file");
    }

    @Test
    void loadsAnExpiredCertificateWithAWarning() {
        Path store = dir.resolve("old.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        TestCertificates.run(dir, List.of(keytool, "-genkeypair", "-alias", "old", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=old.localhost", "-ext", "san=dns:old.localhost",
                "-startdate", "-10d", "-validity", "1", "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", "changeit"));
        // openssl's export puts "Bag Attributes" text before each block, which the reader must skip.
        TestCertificates.openssl(dir, "pkcs12", "-in", store.toString(), "-passin", "pass:changeit", "-nokeys",
                "-out", "old-cert.pem");
        TestCertificates.openssl(dir, "pkcs12", "-in", store.toString(), "-passin", "pass:changeit", "-nocerts",
                "-nodes", "-out", "old-key.pem");
        Logger logger = (Logger) LoggerFactory.getLogger(KeyMaterial.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            KeyMaterial material = KeyMaterial.load(dir.resolve("old-cert.pem"), dir.resolve("old-key.pem"));

            assertThat(material.leaf().getSubjectX500Principal().getName()).isEqualTo("CN=old.localhost");
            assertThat(appender.list)
                    .filteredOn(e -> e.getLevel() == Level.WARN)
                    .extracting(ILoggingEvent::getFormattedMessage)
                    .singleElement().asString()
                    .startsWith("certificate has expired")
                    .contains("CN=old.localhost");
        } finally {
            logger.detachAppender(appender);
        }
    }

    @Test
    void keepsTheKeyOutOfToString() {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        KeyMaterial material = KeyMaterial.load(issued.certFile(), issued.keyFile());

        assertThat(material.toString())
                .isEqualTo("KeyMaterial[leaf=CN=*.localhost, chain=1 certificate(s), key=EC]")
                .doesNotContain(((ECPrivateKey) material.key()).getS().toString());
    }

    @Test
    void requiresACertificate() {
        Issued issued = TestCertificates.issue(dir, "*.localhost");
        KeyMaterial material = KeyMaterial.load(issued.certFile(), issued.keyFile());

        assertThatThrownBy(() -> new KeyMaterial(List.of(), material.key()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("chain: [] (expected: at least one certificate)");
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertConfigError(Runnable load, String variable,
            Path file) {
        return assertThatThrownBy(load::run)
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.variable()).isEqualTo(variable);
                    assertThat(e.value()).isEqualTo(file.toString());
                })
                .hasMessageStartingWith(variable + "=\"" + file + "\": ");
    }

    private static String crlf(String text) {
        return text.replace("\r\n", "\n").replace("\n", "\r\n");
    }
}

package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mergen.forwarder.tls.TestCertificates.KeyFormat;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.ECGenParameterSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrivateKeysTest {
    @TempDir
    Path dir;

    @Test
    void wrapsPkcs1ExactlyAsOpensslDoes() {
        Path pkcs1 = TestCertificates.privateKey(dir, KeyFormat.RSA_PKCS1, dir.resolve("pkcs1.pem"));
        TestCertificates.openssl(dir, "pkey", "-in", pkcs1.toString(), "-out", "pkcs8.pem");

        byte[] ours = PrivateKeys.pkcs1ToPkcs8(block(pkcs1, "RSA PRIVATE KEY"));

        assertThat(ours).isEqualTo(block(dir.resolve("pkcs8.pem"), "PRIVATE KEY"));
        PrivateKey key = PrivateKeys.decode(PemBlocks.parse(TestCertificates.read(pkcs1)));
        assertThat(key).isInstanceOf(RSAPrivateCrtKey.class);
    }

    @Test
    void wrapsSec1IntoTheSameKeyAsOpensslsPkcs8() {
        Path sec1 = TestCertificates.privateKey(dir, KeyFormat.EC_SEC1_WITH_PARAMETERS, dir.resolve("sec1.pem"));
        TestCertificates.openssl(dir, "pkey", "-in", sec1.toString(), "-out", "pkcs8.pem");

        PrivateKey ours = PrivateKeys.decode(PemBlocks.parse(TestCertificates.read(sec1)));
        PrivateKey theirs = PrivateKeys.decode(PemBlocks.parse(TestCertificates.read(dir.resolve("pkcs8.pem"))));

        assertThat(ours).isInstanceOf(ECPrivateKey.class);
        assertThat(((ECPrivateKey) ours).getS()).isEqualTo(((ECPrivateKey) theirs).getS());
        assertThat(((ECPrivateKey) ours).getParams().getCurve()).isEqualTo(((ECPrivateKey) theirs).getParams().getCurve());
    }

    @Test
    void rejectsExplicitCurveParameters() {
        TestCertificates.openssl(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-param_enc", "explicit",
                "-out", "explicit.pem");

        assertThatThrownBy(() -> PrivateKeys.decode(PemBlocks.parse(TestCertificates.read(dir.resolve("explicit.pem")))))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessageContaining("explicit curve parameters");
    }

    @Test
    void rejectsSec1WithoutCurve() {
        byte[] sec1 = Der.element(Der.SEQUENCE, Der.integer(1), Der.element(Der.OCTET_STRING, new byte[32]));

        assertThatThrownBy(() -> PrivateKeys.sec1ToPkcs8(sec1))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessage("EC key does not name its curve (no [0] parameters)");
    }

    @Test
    void namesUnsupportedKeyTypes() {
        TestCertificates.openssl(dir, "genpkey", "-algorithm", "ed25519", "-out", "ed25519.pem");

        assertThatThrownBy(() -> PrivateKeys.decode(PemBlocks.parse(TestCertificates.read(dir.resolve("ed25519.pem")))))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessage("unsupported key type Ed25519 (expected: RSA or EC)");
    }

    @Test
    void rejectsSeveralKeys() {
        Path one = TestCertificates.privateKey(dir, KeyFormat.EC_PKCS8, dir.resolve("one.pem"));
        Path two = TestCertificates.privateKey(dir, KeyFormat.EC_SEC1, dir.resolve("two.pem"));
        String both = TestCertificates.read(one) + TestCertificates.read(two);

        assertThatThrownBy(() -> PrivateKeys.decode(PemBlocks.parse(both)))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessage("2 private keys found (expected: exactly one)");
    }

    @Test
    void matchesOnlyTheOwnPublicKey() throws Exception {
        var rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        var ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        var rsa1 = rsa.generateKeyPair();
        var rsa2 = rsa.generateKeyPair();
        var ec1 = ec.generateKeyPair();
        var ec2 = ec.generateKeyPair();
        ec.initialize(new ECGenParameterSpec("secp384r1"));
        var ec384 = ec.generateKeyPair();

        assertThat(PrivateKeys.matches(rsa1.getPrivate(), rsa1.getPublic())).isTrue();
        assertThat(PrivateKeys.matches(ec1.getPrivate(), ec1.getPublic())).isTrue();
        assertThat(PrivateKeys.matches(rsa1.getPrivate(), rsa2.getPublic())).isFalse();
        assertThat(PrivateKeys.matches(ec1.getPrivate(), ec2.getPublic())).isFalse();
        assertThat(PrivateKeys.matches(ec1.getPrivate(), ec384.getPublic())).isFalse();
        assertThat(PrivateKeys.matches(ec1.getPrivate(), rsa1.getPublic())).isFalse();
        assertThat(PrivateKeys.matches(rsa1.getPrivate(), ec1.getPublic())).isFalse();
    }

    @Test
    void boringSslJudgesEcPairsItself() throws Exception {
        KeyMaterial one = issued("one", KeyFormat.EC_SEC1);
        KeyMaterial two = issued("two", KeyFormat.EC_PKCS8);
        var p384 = KeyPairGenerator.getInstance("EC");
        p384.initialize(new ECGenParameterSpec("secp384r1"));

        // Present, not empty: BoringSSL decided, without the JDK's signature check.
        assertThat(BoringSslKeyPairCheck.matches(one.key(), one.leaf())).contains(true);
        assertThat(BoringSslKeyPairCheck.matches(two.key(), two.leaf())).contains(true);
        assertThat(BoringSslKeyPairCheck.matches(one.key(), two.leaf())).contains(false);
        assertThat(BoringSslKeyPairCheck.matches(two.key(), one.leaf())).contains(false);
        assertThat(BoringSslKeyPairCheck.matches(p384.generateKeyPair().getPrivate(), one.leaf())).contains(false);
        assertThat(PrivateKeys.matches(one.key(), one.leaf())).isTrue();
        assertThat(PrivateKeys.matches(two.key(), one.leaf())).isFalse();
    }

    private KeyMaterial issued(String name, KeyFormat format) {
        TestCertificates.Issued issued = TestCertificates.issue(dir.resolve(name), format, name + ".localhost");
        return KeyMaterial.load(issued.certFile(), issued.keyFile());
    }

    private static byte[] block(Path file, String type) {
        return PemBlocks.parse(TestCertificates.read(file)).stream()
                .filter(b -> b.type().equals(type))
                .findFirst()
                .orElseThrow()
                .der();
    }
}

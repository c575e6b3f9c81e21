package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslPrivateKeyMethod;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.Cipher;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LibcryptoRsaKeyTest {
    private static Libcrypto libcrypto;
    private static KeyPair pair;
    private static LibcryptoRsaKey key;

    @BeforeAll
    static void load() throws GeneralSecurityException {
        // The signature scheme codes are read from netty-tcnative, so it must be loaded.
        OpenSsl.ensureAvailability();
        libcrypto = Libcrypto.load();
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        pair = generator.generateKeyPair();
        key = LibcryptoRsaKey.of(libcrypto, (RSAPrivateKey) pair.getPrivate());
    }

    @Test
    void reportsTheLibraryVersion() {
        assertThat(libcrypto.version()).startsWith("OpenSSL 3.");
    }

    /** The JDK verifies what libcrypto signed: the same message, digest, padding and (for PSS) salt length. */
    @ParameterizedTest
    @CsvSource({
            "SSL_SIGN_RSA_PKCS1_SHA1, SHA1withRSA, ",
            "SSL_SIGN_RSA_PKCS1_SHA256, SHA256withRSA, ",
            "SSL_SIGN_RSA_PKCS1_SHA384, SHA384withRSA, ",
            "SSL_SIGN_RSA_PKCS1_SHA512, SHA512withRSA, ",
            "SSL_SIGN_RSA_PSS_RSAE_SHA256, RSASSA-PSS, SHA-256",
            "SSL_SIGN_RSA_PSS_RSAE_SHA384, RSASSA-PSS, SHA-384",
            "SSL_SIGN_RSA_PSS_RSAE_SHA512, RSASSA-PSS, SHA-512",
    })
    void signaturesVerifyWithTheJdk(String scheme, String jdkAlgorithm, String pssDigest) throws Exception {
        byte[] message = ("TLS 1.3, server CertificateVerify" + scheme).getBytes(StandardCharsets.US_ASCII);

        byte[] signature = key.sign(null, code(scheme), message);

        assertThat(signature).hasSize(256);
        assertThat(verifies(jdkAlgorithm, pssDigest, message, signature)).isTrue();
        message[0] ^= 1;
        assertThat(verifies(jdkAlgorithm, pssDigest, message, signature)).as("a changed message").isFalse();
    }

    @Test
    void refusesSchemesOfOtherKeysAndOldTls() {
        assertThatThrownBy(() -> key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_ECDSA_SECP256R1_SHA256, new byte[1]))
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessage("RSA signature algorithm 0x403 is not supported"
                        + " (expected: an RSA PKCS#1 or PSS scheme of TLS 1.2 or 1.3)");
        assertThatThrownBy(() -> key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PKCS1_MD5_SHA1, new byte[1]))
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageContaining("is not supported");
    }

    /** The raw decryption BoringSSL asks for: the whole padded block, leading zero byte included. */
    @Test
    void decryptsWithoutRemovingPadding() throws Exception {
        Cipher cipher = Cipher.getInstance("RSA/ECB/PKCS1Padding");
        cipher.init(Cipher.ENCRYPT_MODE, pair.getPublic());
        byte[] premaster = new byte[48];
        Arrays.fill(premaster, (byte) 0x33);

        byte[] block = key.decrypt(null, cipher.doFinal(premaster));

        assertThat(block).hasSize(256);
        assertThat(block[0]).isZero();
        assertThat(block[1]).as("PKCS#1 v1.5 block type 2").isEqualTo((byte) 2);
        assertThat(block[256 - 49]).as("the zero byte ending the padding").isZero();
        assertThat(Arrays.copyOfRange(block, 256 - 48, 256)).isEqualTo(premaster);
    }

    @Test
    void decryptionOfAValueAboveTheModulusFails() {
        byte[] tooLarge = new byte[256];
        Arrays.fill(tooLarge, (byte) 0xff);

        assertThatThrownBy(() -> key.decrypt(null, tooLarge))
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageStartingWith("EVP_PKEY_decrypt failed");
    }

    /**
     * A thread keeps its signing context per scheme and signs again with it (EVP_PKEY_sign on a context that signed
     * before): every signature, in both schemes, alternating, verifies, and PSS ones differ by their random salt.
     */
    @Test
    void signsAgainAndAgainOnOneThreadWithEachScheme() throws Exception {
        for (int i = 0; i < 6; i++) {
            byte[] message = ("message " + i).getBytes(StandardCharsets.US_ASCII);
            byte[] pss = key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA256, message);
            byte[] pkcs1 = key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PKCS1_SHA384, message);

            assertThat(verifies("RSASSA-PSS", "SHA-256", message, pss)).as("PSS signature %d", i).isTrue();
            assertThat(verifies("SHA384withRSA", null, message, pkcs1)).as("PKCS#1 signature %d", i).isTrue();
        }
        byte[] same = "the same message".getBytes(StandardCharsets.US_ASCII);
        byte[] first = key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA256, same);
        byte[] second = key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA256, same);
        assertThat(first).as("a fresh salt for each PSS signature").isNotEqualTo(second);
        assertThat(verifies("RSASSA-PSS", "SHA-256", same, second)).isTrue();
    }

    @Test
    void aSignerRefusesAWrongDigestLengthAndSignsOnAfterwards() throws GeneralSecurityException {
        MemorySegment nativeKey = libcrypto.privateKey(pair.getPrivate().getEncoded());
        Libcrypto.Signer signer = libcrypto.newSigner(nativeKey, 256, Libcrypto.Digest.SHA256,
                Libcrypto.RSA_PKCS1_PADDING);
        try {
            assertThatThrownBy(() -> signer.sign(new byte[65]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("a digest of 65 bytes (at most 64)");
            // libcrypto checks the length against the context's digest, and the context stays usable after.
            assertThatThrownBy(() -> signer.sign(new byte[20]))
                    .isInstanceOf(GeneralSecurityException.class)
                    .hasMessageStartingWith("EVP_PKEY_sign failed");
            byte[] message = "after a failure".getBytes(StandardCharsets.US_ASCII);
            byte[] signature = signer.sign(MessageDigest.getInstance("SHA-256").digest(message));
            assertThat(verifies("SHA256withRSA", null, message, signature)).isTrue();
        } finally {
            signer.free();
            libcrypto.free(nativeKey);
        }
    }

    /** One key serves every event loop at once; each thread has its own signing contexts. */
    @Test
    void signsFromManyThreadsAtOnce() throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                byte[] message = BigInteger.valueOf(i).toByteArray();
                results.add(pool.submit(() -> verifies("RSASSA-PSS", "SHA-256", message,
                        key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA256, message))));
            }
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        }
    }

    @Test
    void aKeyLibcryptoCannotReadIsAClearError() {
        assertThatThrownBy(() -> libcrypto.privateKey(new byte[] {0x30, 0x03, 0x02, 0x01, 0x00}))
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageStartingWith("libcrypto.so.3 cannot read the private key: error:");
    }

    @Test
    void aMissingLibraryIsNamed() {
        assertThatThrownBy(() -> Libcrypto.load("libcrypto-absent.so.9"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("libcrypto-absent.so.9 cannot be opened: ");
    }

    private static int code(String scheme) throws ReflectiveOperationException {
        return OpenSslPrivateKeyMethod.class.getField(scheme).getInt(null);
    }

    private static boolean verifies(String algorithm, String pssDigest, byte[] message, byte[] signature)
            throws GeneralSecurityException {
        Signature verifier = Signature.getInstance(algorithm);
        if (pssDigest != null) {
            int saltLength = pssDigest.equals("SHA-256") ? 32 : pssDigest.equals("SHA-384") ? 48 : 64;
            verifier.setParameter(new PSSParameterSpec(pssDigest, "MGF1", new MGF1ParameterSpec(pssDigest),
                    saltLength, PSSParameterSpec.TRAILER_FIELD_BC));
        }
        verifier.initVerify(pair.getPublic());
        verifier.update(message);
        return verifier.verify(signature);
    }
}

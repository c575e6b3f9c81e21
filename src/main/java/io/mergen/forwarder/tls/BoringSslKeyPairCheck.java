package io.mergen.forwarder.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.internal.tcnative.SSL;
import io.netty.internal.tcnative.SSLContext;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Optional;

/**
 * Asks BoringSSL whether a private key belongs to a certificate, by handing both to an SSL as a handshake would:
 * {@code SSL_set_chain_and_key} refuses a pair whose public keys differ, and BoringSSL derives the public point of an EC
 * key from its private scalar (the JDK's encoding carries no public key). Natively this takes microseconds; the JDK's
 * first EC signature at start-up spends ~60 ms in interpreted field arithmetic.
 */
final class BoringSslKeyPairCheck {
    private BoringSslKeyPairCheck() {
    }

    /**
     * True or false when BoringSSL could judge the pair; empty when it is not loaded or refused the pair for another
     * reason than a mismatch (e.g. a key type it does not parse), so that the caller decides in Java.
     */
    static Optional<Boolean> matches(PrivateKey key, X509Certificate certificate) {
        if (!OpenSsl.isAvailable()) {
            return Optional.empty();
        }
        byte[] certificatePem;
        try {
            certificatePem = pem("CERTIFICATE", certificate.getEncoded());
        } catch (CertificateEncodingException e) {
            return Optional.empty();
        }
        byte[] keyPem = pem("PRIVATE KEY", key.getEncoded());
        long context = 0;
        long ssl = 0;
        long nativeKey = 0;
        long chain = 0;
        try (Arena arena = Arena.ofConfined()) {
            context = SSLContext.make(SSL.SSL_PROTOCOL_TLSV1_3, SSL.SSL_MODE_SERVER);
            ssl = SSL.newSSL(context, true);
            nativeKey = parse(arena, keyPem, true);
            chain = parse(arena, certificatePem, false);
            SSL.setKeyMaterial(ssl, chain, nativeKey);
            return Optional.of(true);
        } catch (Exception e) {
            // BoringSSL names a mismatch KEY_VALUES_MISMATCH or CERTIFICATE_AND_PRIVATE_KEY_MISMATCH.
            String message = String.valueOf(e.getMessage());
            return message.contains("MISMATCH") ? Optional.of(false) : Optional.empty();
        } finally {
            SSL.clearError();
            if (chain != 0) {
                SSL.freeX509Chain(chain);
            }
            if (nativeKey != 0) {
                SSL.freePrivateKey(nativeKey);
            }
            if (ssl != 0) {
                SSL.freeSSL(ssl);
            }
            if (context != 0) {
                SSLContext.free(context);
            }
        }
    }

    /** A private key or a certificate chain parsed by BoringSSL from PEM, through a memory BIO. */
    private static long parse(Arena arena, byte[] pem, boolean privateKey) throws Exception {
        long bio = SSL.newMemBIO();
        try {
            MemorySegment bytes = arena.allocateFrom(ValueLayout.JAVA_BYTE, pem);
            if (SSL.bioWrite(bio, bytes.address(), pem.length) != pem.length) {
                throw new IllegalStateException("short BIO write");
            }
            return privateKey ? SSL.parsePrivateKey(bio, null) : SSL.parseX509Chain(bio);
        } finally {
            SSL.freeBIO(bio);
        }
    }

    private static byte[] pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return ("-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n")
                .getBytes(StandardCharsets.US_ASCII);
    }
}

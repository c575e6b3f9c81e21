package io.mergen.forwarder.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslPrivateKeyMethod;
import java.lang.foreign.MemorySegment;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.interfaces.RSAPrivateKey;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The RSA-2048 signature of a full TLS 1.3 handshake with an RSA certificate (PSS, SHA-256, over the 130 bytes
 * of a CertificateVerify), made by the system's libcrypto as {@code FWD_TLS_RSA_SIGNER=auto} does.
 * {@link #reusedContext}: {@link LibcryptoRsaKey#sign}, which keeps a prepared context per thread and scheme;
 * {@link #contextPerSignature}: a context made, prepared and freed around every signature, and the JDK digest
 * looked up each time (what the forwarder did before). The difference is OpenSSL 3's provider lookups and parameter
 * parsing in {@code EVP_PKEY_CTX_new} and {@code EVP_PKEY_sign_init}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RsaSignBenchmark {
    private Libcrypto libcrypto;
    private LibcryptoRsaKey key;
    private MemorySegment nativeKey;
    private byte[] message;

    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
        OpenSsl.ensureAvailability();
        libcrypto = Libcrypto.load();
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair pair = generator.generateKeyPair();
        key = LibcryptoRsaKey.of(libcrypto, (RSAPrivateKey) pair.getPrivate());
        nativeKey = libcrypto.privateKey(pair.getPrivate().getEncoded());
        message = new byte[130];
        Arrays.fill(message, 0, 64, (byte) ' ');
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        libcrypto.free(nativeKey);
    }

    @Benchmark
    public byte[] reusedContext() throws GeneralSecurityException {
        return key.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA256, message);
    }

    @Benchmark
    public byte[] contextPerSignature() throws GeneralSecurityException {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(message);
        Libcrypto.Signer signer = libcrypto.newSigner(nativeKey, 256, Libcrypto.Digest.SHA256,
                Libcrypto.RSA_PKCS1_PSS_PADDING);
        try {
            return signer.sign(digest);
        } finally {
            signer.free();
        }
    }
}

package io.mergen.forwarder.tls;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

/**
 * The few functions of the system's OpenSSL 3 libcrypto that sign and decrypt with an RSA key, called through the
 * FFM API. A {@link Signer} belongs to one thread at a time; a decryption has a context of its own.
 */
final class Libcrypto {
    static final String LIBRARY = "libcrypto.so.3";
    static final int RSA_PKCS1_PADDING = 1;
    static final int RSA_NO_PADDING = 3;
    static final int RSA_PKCS1_PSS_PADDING = 6;
    /** The PSS salt is as long as the digest, as TLS requires (RFC 8446 section 4.2.3). */
    private static final int RSA_PSS_SALTLEN_DIGEST = -1;
    /**
     * Without it, libcrypto frees its global state in an atexit handler, while an event loop that is still being
     * stopped may be inside a signature.
     */
    private static final long OPENSSL_INIT_NO_ATEXIT = 0x00080000L;

    private static final FunctionDescriptor INT_OF_ADDRESS = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final FunctionDescriptor ADDRESS_OF_NOTHING = FunctionDescriptor.of(ADDRESS);

    /** A digest of libcrypto's built-in default provider, for the signature's DigestInfo or PSS encoding. */
    enum Digest {
        SHA1("EVP_sha1"), SHA256("EVP_sha256"), SHA384("EVP_sha384"), SHA512("EVP_sha512");

        private final String function;

        Digest(String function) {
            this.function = function;
        }
    }

    private final MethodHandle d2iAutoPrivateKey;
    private final MethodHandle pkeyFree;
    private final MethodHandle pkeySize;
    private final MethodHandle ctxNew;
    private final MethodHandle ctxFree;
    private final MethodHandle signInit;
    private final MethodHandle sign;
    private final MethodHandle decryptInit;
    private final MethodHandle decrypt;
    private final MethodHandle setPadding;
    private final MethodHandle setPssSaltLength;
    private final MethodHandle setSignatureDigest;
    private final MethodHandle errGetError;
    private final MethodHandle errErrorString;
    private final MemorySegment[] digests = new MemorySegment[Digest.values().length];
    private final String version;

    @SuppressWarnings("restricted") // granted by --enable-native-access / the jar's Enable-Native-Access entry
    private Libcrypto(SymbolLookup library) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle init = handle(linker, library, "OPENSSL_init_crypto",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        d2iAutoPrivateKey = handle(linker, library, "d2i_AutoPrivateKey",
                FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        pkeyFree = handle(linker, library, "EVP_PKEY_free", FunctionDescriptor.ofVoid(ADDRESS));
        pkeySize = handle(linker, library, "EVP_PKEY_get_size", INT_OF_ADDRESS);
        ctxNew = handle(linker, library, "EVP_PKEY_CTX_new", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        ctxFree = handle(linker, library, "EVP_PKEY_CTX_free", FunctionDescriptor.ofVoid(ADDRESS));
        FunctionDescriptor operation = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
        signInit = handle(linker, library, "EVP_PKEY_sign_init", INT_OF_ADDRESS);
        sign = handle(linker, library, "EVP_PKEY_sign", operation);
        decryptInit = handle(linker, library, "EVP_PKEY_decrypt_init", INT_OF_ADDRESS);
        decrypt = handle(linker, library, "EVP_PKEY_decrypt", operation);
        // Functions in OpenSSL 3 (macros before), which is why 1.1 is not an option.
        setPadding = handle(linker, library, "EVP_PKEY_CTX_set_rsa_padding",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setPssSaltLength = handle(linker, library, "EVP_PKEY_CTX_set_rsa_pss_saltlen",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setSignatureDigest = handle(linker, library, "EVP_PKEY_CTX_set_signature_md",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        errGetError = handle(linker, library, "ERR_get_error", FunctionDescriptor.of(JAVA_LONG));
        errErrorString = handle(linker, library, "ERR_error_string_n",
                FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS, JAVA_LONG));
        if ((int) init.invokeExact(OPENSSL_INIT_NO_ATEXIT, MemorySegment.NULL) != 1) {
            throw new IllegalStateException("OPENSSL_init_crypto failed: " + errors());
        }
        MethodHandle versionText = handle(linker, library, "OpenSSL_version", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        // OPENSSL_VERSION (0): "OpenSSL 3.0.19 27 Jan 2026", a static string.
        version = ((MemorySegment) versionText.invokeExact(0)).reinterpret(256).getString(0, StandardCharsets.US_ASCII);
        for (Digest digest : Digest.values()) {
            MethodHandle getter = handle(linker, library, digest.function, ADDRESS_OF_NOTHING);
            digests[digest.ordinal()] = (MemorySegment) getter.invokeExact();
        }
    }

    /**
     * Opens the library and links every function used.
     *
     * @throws IllegalStateException naming what is missing: the library, a symbol, or native access
     */
    static Libcrypto load() {
        return load(LIBRARY);
    }

    static Libcrypto load(String library) {
        try {
            return new Libcrypto(SymbolLookup.libraryLookup(library, Arena.global()));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(library + " cannot be opened: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("linking " + LIBRARY + " failed: " + t, t);
        }
    }

    /** The library's own version text, such as {@code OpenSSL 3.0.19 27 Jan 2026}. */
    String version() {
        return version;
    }

    /** A native EVP_PKEY from a DER private key (PKCS#8 or PKCS#1); the caller frees it with {@link #free}. */
    MemorySegment privateKey(byte[] der) throws GeneralSecurityException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocateFrom(JAVA_BYTE, der);
            // d2i_* advances the pointer it is given: pass a pointer to a copy of the address.
            MemorySegment cursor = arena.allocateFrom(ADDRESS, bytes);
            MemorySegment key = (MemorySegment) d2iAutoPrivateKey.invokeExact(
                    MemorySegment.NULL, cursor, (long) der.length);
            if (key.equals(MemorySegment.NULL)) {
                throw new GeneralSecurityException(LIBRARY + " cannot read the private key: " + errors());
            }
            return key;
        } catch (GeneralSecurityException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("d2i_AutoPrivateKey", t);
        }
    }

    /** The size of the key's signatures and ciphertexts in bytes. */
    int size(MemorySegment key) {
        try {
            return (int) pkeySize.invokeExact(key);
        } catch (Throwable t) {
            throw unexpected("EVP_PKEY_get_size", t);
        }
    }

    void free(MemorySegment key) {
        try {
            pkeyFree.invokeExact(key);
        } catch (Throwable t) {
            throw unexpected("EVP_PKEY_free", t);
        }
    }

    /**
     * A context that signs digests of {@code digestType} with PKCS#1 v1.5 or PSS ({@code padding}) padding, set up
     * once: OpenSSL 3 looks the algorithm up in its provider and parses the parameters in EVP_PKEY_CTX_new and
     * EVP_PKEY_sign_init, and EVP_PKEY_sign may be called again on a context with the same parameters.
     */
    Signer newSigner(MemorySegment key, int size, Digest digestType, int padding) throws GeneralSecurityException {
        requireNonNull(digestType, "digestType");
        MemorySegment ctx = newContext(key);
        try {
            check((int) signInit.invokeExact(ctx), "EVP_PKEY_sign_init");
            check((int) setPadding.invokeExact(ctx, padding), "EVP_PKEY_CTX_set_rsa_padding");
            if (padding == RSA_PKCS1_PSS_PADDING) {
                check((int) setPssSaltLength.invokeExact(ctx, RSA_PSS_SALTLEN_DIGEST),
                        "EVP_PKEY_CTX_set_rsa_pss_saltlen");
            }
            check((int) setSignatureDigest.invokeExact(ctx, digests[digestType.ordinal()]),
                    "EVP_PKEY_CTX_set_signature_md");
            return new Signer(ctx, size);
        } catch (GeneralSecurityException | RuntimeException | Error e) {
            freeContext(ctx);
            throw e;
        } catch (Throwable t) {
            freeContext(ctx);
            throw unexpected("EVP_PKEY_sign_init", t);
        }
    }

    /**
     * A prepared signing context with its native buffers. Used by one thread at a time; freed by any thread. The
     * buffers go with the signer when the GC collects it: closing an arena shared between threads would stop every
     * thread for a handshake, and a confined one could only be closed by the thread that signs.
     */
    final class Signer {
        /** SHA-512, the longest digest signed. */
        private static final int MAX_DIGEST_LENGTH = 64;

        private final MemorySegment ctx;
        private final int size;
        private final MemorySegment digest;
        private final MemorySegment signature;
        private final MemorySegment signatureLength;

        private Signer(MemorySegment ctx, int size) {
            this.ctx = ctx;
            this.size = size;
            Arena buffers = Arena.ofAuto();
            digest = buffers.allocate(MAX_DIGEST_LENGTH);
            signature = buffers.allocate(size);
            signatureLength = buffers.allocate(JAVA_LONG);
        }

        /** Signs an already computed digest. */
        byte[] sign(byte[] digestBytes) throws GeneralSecurityException {
            if (digestBytes.length > MAX_DIGEST_LENGTH) {
                throw new IllegalArgumentException("a digest of " + digestBytes.length + " bytes (at most "
                        + MAX_DIGEST_LENGTH + ")");
            }
            MemorySegment.copy(digestBytes, 0, digest, JAVA_BYTE, 0, digestBytes.length);
            signatureLength.set(JAVA_LONG, 0, size);
            try {
                check((int) sign.invokeExact(ctx, signature, signatureLength, digest, (long) digestBytes.length),
                        "EVP_PKEY_sign");
            } catch (GeneralSecurityException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw unexpected("EVP_PKEY_sign", t);
            }
            return signature.asSlice(0, signatureLength.get(JAVA_LONG, 0)).toArray(JAVA_BYTE);
        }

        /** Frees the context; the signer must not be used again. */
        void free() {
            freeContext(ctx);
        }
    }

    /** The raw RSA decryption of {@code input}, with no padding removed. */
    byte[] decryptRaw(MemorySegment key, int size, byte[] input) throws GeneralSecurityException {
        MemorySegment ctx = newContext(key);
        try (Arena arena = Arena.ofConfined()) {
            check((int) decryptInit.invokeExact(ctx), "EVP_PKEY_decrypt_init");
            check((int) setPadding.invokeExact(ctx, RSA_NO_PADDING), "EVP_PKEY_CTX_set_rsa_padding");
            return run(decrypt, ctx, arena, size, input, "EVP_PKEY_decrypt");
        } catch (GeneralSecurityException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("EVP_PKEY_decrypt", t);
        } finally {
            freeContext(ctx);
        }
    }

    private byte[] run(MethodHandle operation, MemorySegment ctx, Arena arena, int size, byte[] input, String name)
            throws Throwable {
        MemorySegment in = arena.allocateFrom(JAVA_BYTE, input);
        MemorySegment out = arena.allocate(size);
        MemorySegment outLength = arena.allocateFrom(JAVA_LONG, size);
        check((int) operation.invokeExact(ctx, out, outLength, in, (long) input.length), name);
        long length = outLength.get(JAVA_LONG, 0);
        return out.asSlice(0, length).toArray(JAVA_BYTE);
    }

    private MemorySegment newContext(MemorySegment key) throws GeneralSecurityException {
        MemorySegment ctx;
        try {
            ctx = (MemorySegment) ctxNew.invokeExact(key, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected("EVP_PKEY_CTX_new", t);
        }
        if (ctx.equals(MemorySegment.NULL)) {
            throw new GeneralSecurityException("EVP_PKEY_CTX_new failed: " + errors());
        }
        return ctx;
    }

    private void freeContext(MemorySegment ctx) {
        try {
            ctxFree.invokeExact(ctx);
        } catch (Throwable t) {
            throw unexpected("EVP_PKEY_CTX_free", t);
        }
    }

    private void check(int result, String function) throws GeneralSecurityException {
        if (result <= 0) {
            throw new GeneralSecurityException(function + " failed (" + result + "): " + errors());
        }
    }

    /** Drains this thread's libcrypto error queue, so a later call does not report an old error. */
    private String errors() {
        StringBuilder text = new StringBuilder();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(256);
            for (long code = (long) errGetError.invokeExact(); code != 0; code = (long) errGetError.invokeExact()) {
                errErrorString.invokeExact(code, buffer, buffer.byteSize());
                text.append(text.isEmpty() ? "" : "; ").append(buffer.getString(0, StandardCharsets.US_ASCII));
            }
        } catch (Throwable t) {
            return "(error queue unreadable: " + t + ")";
        }
        return text.isEmpty() ? "no error reported" : text.toString();
    }

    @SuppressWarnings("restricted")
    private static MethodHandle handle(Linker linker, SymbolLookup library, String name,
                                       FunctionDescriptor descriptor) {
        MemorySegment symbol = library.find(name)
                .orElseThrow(() -> new IllegalStateException(LIBRARY + " has no symbol " + name));
        return linker.downcallHandle(symbol, descriptor);
    }

    /** A downcall declares Throwable but only fails on linkage bugs, never with a checked exception. */
    private static RuntimeException unexpected(String call, Throwable t) {
        if (t instanceof RuntimeException runtime) {
            return runtime;
        }
        if (t instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(call + " downcall failed", t);
    }
}

package io.mergen.forwarder.config;

import java.util.Locale;

/** Selects the library that makes the handshake signatures of RSA certificates; BoringSSL does all the rest of TLS. */
public enum RsaSigner {
    /** The system's OpenSSL 3 libcrypto when it loads, else BoringSSL. */
    AUTO,
    /** The system's OpenSSL 3 libcrypto; the forwarder does not start without it. */
    OPENSSL,
    /** BoringSSL. */
    BORINGSSL;

    /** Parses {@code auto}, {@code openssl} or {@code boringssl}, ignoring case. */
    public static RsaSigner parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "openssl" -> OPENSSL;
            case "boringssl" -> BORINGSSL;
            default -> throw new IllegalArgumentException(
                    "unknown RSA signer " + ConfigException.quote(text) + " (expected: auto, openssl or boringssl)");
        };
    }
}

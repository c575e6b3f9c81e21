package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import io.mergen.forwarder.config.ConfigException;
import io.mergen.forwarder.config.RsaSigner;
import io.netty.handler.ssl.OpenSslPrivateKeyMethod;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, once per forwarder, which library signs handshakes with RSA keys: BoringSSL itself, or the system's
 * OpenSSL 3 libcrypto through a private key method. libcrypto is loaded when the first RSA key needs it, so a
 * forwarder with only EC certificates never loads it.
 */
public final class RsaSigning {
    private static final Logger log = LoggerFactory.getLogger(RsaSigning.class);
    private static final String VARIABLE = "FWD_TLS_RSA_SIGNER";

    private final RsaSigner choice;
    /** Set on first use (null until then), or at construction when libcrypto is required. */
    private Optional<Libcrypto> libcrypto;

    private RsaSigning(RsaSigner choice, Optional<Libcrypto> libcrypto) {
        this.choice = choice;
        this.libcrypto = libcrypto;
    }

    /**
     * The signing {@code choice} asks for. With {@link RsaSigner#OPENSSL} libcrypto is loaded now.
     *
     * @throws ConfigException naming {@code FWD_TLS_RSA_SIGNER} when OpenSSL is required and cannot be loaded
     */
    public static RsaSigning of(RsaSigner choice) {
        return switch (requireNonNull(choice, "choice")) {
            case AUTO -> new RsaSigning(choice, null);
            case BORINGSSL -> boringSsl();
            case OPENSSL -> {
                try {
                    Libcrypto loaded = Libcrypto.load();
                    log.info("RSA handshake signatures by {} ({})", loaded.version(), Libcrypto.LIBRARY);
                    yield new RsaSigning(choice, Optional.of(loaded));
                } catch (RuntimeException e) {
                    throw new ConfigException(VARIABLE, "openssl", e.getMessage());
                }
            }
        };
    }

    /** BoringSSL signs with every key. */
    public static RsaSigning boringSsl() {
        return new RsaSigning(RsaSigner.BORINGSSL, Optional.empty());
    }

    /**
     * The private key method that signs with {@code key}; empty when BoringSSL should sign itself (not an RSA key,
     * BoringSSL chosen, or libcrypto unavailable under {@code auto}).
     */
    Optional<OpenSslPrivateKeyMethod> methodFor(PrivateKey key) {
        if (!(key instanceof RSAPrivateKey rsa)) {
            return Optional.empty();
        }
        Optional<Libcrypto> library = libcrypto();
        if (library.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(LibcryptoRsaKey.of(library.get(), rsa));
        } catch (GeneralSecurityException e) {
            if (choice == RsaSigner.OPENSSL) {
                throw new IllegalStateException(Libcrypto.LIBRARY + " cannot use the RSA key: " + e.getMessage(), e);
            }
            log.warn("BoringSSL signs with this RSA key: {} cannot use it: {}", Libcrypto.LIBRARY, e.getMessage());
            return Optional.empty();
        }
    }

    private synchronized Optional<Libcrypto> libcrypto() {
        if (libcrypto == null) {
            try {
                Libcrypto loaded = Libcrypto.load();
                log.info("RSA handshake signatures by {} ({}), everything else by BoringSSL", loaded.version(),
                        Libcrypto.LIBRARY);
                libcrypto = Optional.of(loaded);
            } catch (RuntimeException e) {
                log.info("RSA handshake signatures by BoringSSL ({}=auto): {}", VARIABLE, e.getMessage());
                libcrypto = Optional.empty();
            }
        }
        return libcrypto;
    }

    @Override
    public String toString() {
        return choice.name().toLowerCase(Locale.ROOT);
    }
}

package io.mergen.forwarder.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/** Names one PEM certificate chain and the file holding its private key. */
public record CertPair(Path cert, Path key) {
    public CertPair {
        requireNonNull(cert, "cert");
        requireNonNull(key, "key");
    }

    /** {@code cert:key}, as {@code FWD_TLS_CERTS} spells one entry. */
    @Override
    public String toString() {
        return cert + ":" + key;
    }
}

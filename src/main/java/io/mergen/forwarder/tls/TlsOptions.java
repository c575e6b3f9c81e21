package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import io.mergen.forwarder.config.ForwarderConfig;
import io.mergen.forwarder.config.RsaSigner;

/**
 * How the server contexts are built beyond their certificate: who signs with RSA keys, and whether clients may
 * resume sessions.
 */
public record TlsOptions(RsaSigning rsaSigning, boolean sessionResumption) {
    public TlsOptions {
        requireNonNull(rsaSigning, "rsaSigning");
    }

    /** What {@code config} asks for; libcrypto is loaded now when {@code FWD_TLS_RSA_SIGNER=openssl}. */
    public static TlsOptions of(ForwarderConfig config) {
        return new TlsOptions(RsaSigning.of(config.rsaSigner()), config.sessionResumption());
    }

    /** The defaults of the variables: RSA signatures by libcrypto when it loads, session resumption on. */
    public static TlsOptions defaults() {
        return new TlsOptions(RsaSigning.of(RsaSigner.AUTO), true);
    }
}

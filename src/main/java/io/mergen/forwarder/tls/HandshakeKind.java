package io.mergen.forwarder.tls;

import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.internal.tcnative.SSL;
import java.util.Locale;
import javax.net.ssl.SSLEngine;

/** Whether a completed handshake was a full one or resumed an earlier session from its ticket. */
public enum HandshakeKind {
    FULL,
    RESUMED,
    /** The JDK's engine does not say. */
    UNKNOWN;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** Asks BoringSSL; call it on the connection's event loop once the handshake has completed. */
    public static HandshakeKind of(SSLEngine engine) {
        if (engine instanceof ReferenceCountedOpenSslEngine openSsl) {
            return SSL.isSessionReused(openSsl.sslPointer()) ? RESUMED : FULL;
        }
        return UNKNOWN;
    }

    /** The metric label: full, resumed or unknown. */
    public String label() {
        return label;
    }
}

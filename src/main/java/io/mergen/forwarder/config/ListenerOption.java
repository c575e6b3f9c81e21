package io.mergen.forwarder.config;

import java.util.Locale;

/** An opt-in feature of one TLS listener, written after its mode: {@code :8443=443/tls+h2}. */
public enum ListenerOption {
    /** Offer h2 (then http/1.1) through ALPN, for guests that speak h2c; by default nothing is offered. */
    H2,
    /** Send a PROXY protocol v2 header to the guest first: the real client address and the SNI name. */
    PROXY;

    static ListenerOption parse(String text) {
        for (ListenerOption option : values()) {
            if (option.text().equals(text.toLowerCase(Locale.ROOT))) {
                return option;
            }
        }
        throw new IllegalArgumentException(
                "unknown listener option " + ConfigException.quote(text) + " (expected: h2 or proxy)");
    }

    String text() {
        return name().toLowerCase(Locale.ROOT);
    }
}

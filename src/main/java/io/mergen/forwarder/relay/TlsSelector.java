package io.mergen.forwarder.relay;

import io.netty.handler.ssl.SslContext;

/** Picks the server TLS context for one handshake of a listener, by the name the client asked for. */
@FunctionalInterface
public interface TlsSelector {
    /**
     * @param serverName the SNI name, or null
     * @param routed     whether that name routes to a VM (only those get an on-demand certificate)
     */
    SslContext select(String serverName, boolean routed);
}

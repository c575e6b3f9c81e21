package io.mergen.forwarder.relay;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslHandler;

/** Makes the server TLS handler for one handshake of a listener, by the name the client asked for. */
@FunctionalInterface
public interface TlsSelector {
    /**
     * @param serverName the SNI name, or null
     * @param routed     whether that name routes to a VM (only those get an on-demand certificate)
     * @param alloc      the connection's allocator
     */
    SslHandler newHandler(String serverName, boolean routed, ByteBufAllocator alloc);
}

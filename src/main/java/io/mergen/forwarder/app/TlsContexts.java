package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.CertificateStore;
import io.mergen.forwarder.tls.KeyMaterial;
import io.mergen.forwarder.tls.LocalIssuer;
import io.mergen.forwarder.tls.ServerTls;
import io.mergen.forwarder.tls.TlsOptions;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The server certificates of the forwarder: the configured pairs (watched and reloaded by the store), and, with
 * a local CA, a short-lived leaf issued for each routed name at its first handshake.
 */
final class TlsContexts implements AutoCloseable {
    private record Issued(KeyMaterial material, SslContext context) {
    }

    private record NameAndAlpn(String name, List<String> alpn) {
    }

    private final CertificateStore store;
    private final Optional<LocalIssuer> issuer;
    private final TlsOptions options;
    private final ConcurrentHashMap<NameAndAlpn, Issued> issued = new ConcurrentHashMap<>();

    TlsContexts(CertificateStore store, Optional<LocalIssuer> issuer, TlsOptions options) {
        this.store = store;
        this.issuer = issuer;
        this.options = options;
    }

    CertificateStore store() {
        return store;
    }

    /**
     * The handler for one handshake. Issuing a leaf costs 1-2 ms of CPU once per name and day, on the event loop
     * that meets the name first; every later handshake finds it cached.
     */
    SslHandler newHandler(String serverName, boolean routed, List<String> alpn, ByteBufAllocator alloc) {
        return ServerTls.newHandler(select(serverName, routed, alpn), alloc, options);
    }

    private SslContext select(String serverName, boolean routed, List<String> alpn) {
        if (issuer.isPresent() && routed && serverName != null) {
            // The router accepted the name, so it is one label under the domain, maybe with a trailing dot.
            String name = serverName.toLowerCase(Locale.ROOT);
            KeyMaterial current = issuer.get().forName(name.endsWith(".") ? name.substring(0, name.length() - 1) : name);
            // A renewed leaf is a new KeyMaterial: the cached context follows it, and the old one is retired.
            return issued.compute(new NameAndAlpn(name, alpn), (key, old) -> {
                if (old != null && old.material() == current) {
                    return old;
                }
                if (old != null) {
                    ServerTls.retire(old.context());
                }
                return new Issued(current, ServerTls.serverContext(current, alpn, options));
            }).context();
        }
        return store.context(serverName, alpn);
    }

    @Override
    public void close() {
        store.close();
        issued.values().forEach(leaf -> ServerTls.release(leaf.context()));
        issued.clear();
    }
}

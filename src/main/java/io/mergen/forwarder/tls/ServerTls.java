package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig.Protocol;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslPrivateKeyMethod;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslX509KeyManagerFactory;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.TrustManagerFactoryWrapper;
import io.netty.internal.tcnative.SSL;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ReferenceCounted;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds the server-side TLS contexts of the listeners: TLS 1.3 and 1.2 only, on BoringSSL when it can load. */
public final class ServerTls {
    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);
    static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    /** Written into the jar by Maven and kept by the shade plugin, unlike the tcnative jar's own manifest. */
    private static final String TCNATIVE_POM = "META-INF/maven/io.netty/netty-tcnative-classes/pom.properties";
    private static final AtomicBoolean fallbackReported = new AtomicBoolean();
    /** Far longer than the few microseconds between looking a context up and creating an engine from it. */
    private static final Duration RETIRE_DELAY = Duration.ofSeconds(30);

    private ServerTls() {}

    /**
     * A server context presenting {@code material}. ALPN is offered only when {@code alpnProtocols} is non-empty, in
     * preference order: the forwarder relays bytes, so advertising h2 to a client whose guest speaks only HTTP/1.1
     * would break the connection after the handshake.
     */
    public static SslContext serverContext(KeyMaterial material, List<String> alpnProtocols, TlsOptions options) {
        return serverContext(material, alpnProtocols, options, provider());
    }

    static SslContext serverContext(KeyMaterial material, List<String> alpnProtocols, TlsOptions options,
                                    SslProvider provider) {
        requireNonNull(options, "options");
        requireNonNull(material, "material");
        requireNonNull(provider, "provider");
        List<String> alpn = List.copyOf(requireNonNull(alpnProtocols, "alpnProtocols"));
        for (String protocol : alpn) {
            // RFC 7301 section 3.1: a protocol name is 1 to 255 bytes.
            int length = protocol.getBytes(StandardCharsets.US_ASCII).length;
            if (length == 0 || length > 255) {
                throw new IllegalArgumentException(
                        "alpnProtocols: " + alpn + " (expected: names of 1 to 255 bytes, such as h2 or http/1.1)");
            }
        }
        X509Certificate[] chain = material.chain().toArray(X509Certificate[]::new);
        Optional<OpenSslPrivateKeyMethod> signer = provider == SslProvider.JDK
                ? Optional.empty() : options.rsaSigning().methodFor(material.key());
        // With a key method, BoringSSL gets the chain alone: tcnative routes the signatures of an SSL to the method
        // only when that SSL has no private key of its own.
        SslContextBuilder builder = signer.isPresent()
                ? SslContextBuilder.forServer(keyless(chain))
                        .option(OpenSslContextOption.PRIVATE_KEY_METHOD, signer.get())
                // Netty hands the key to BoringSSL through a KeyStore. The default type, PKCS#12, encrypts the key with
                // 10,000 rounds of PBKDF2 and the key manager decrypts it again: ~130 ms of start-up and of each
                // reload. JKS only obfuscates it, which is all an in-memory hand-over needs.
                : SslContextBuilder.forServer(material.key(), chain).keyStoreType("JKS");
        builder.sslProvider(provider)
                .protocols(PROTOCOLS)
                // Clients are never asked for a certificate. Without a trust manager of its own, each context would
                // load the JDK's whole CA store for that unused check: ~130 ms of start-up and of every reload.
                .trustManager(new TrustManagerFactoryWrapper(NoClientCertificates.INSTANCE));
        if (!alpn.isEmpty()) {
            // NO_ADVERTISE: a client offering none of our protocols still connects, without ALPN, as it would
            // with a plain TLS server; both failure modes are the ones BoringSSL and the JDK support.
            builder.applicationProtocolConfig(new ApplicationProtocolConfig(Protocol.ALPN,
                    SelectorFailureBehavior.NO_ADVERTISE, SelectedListenerFailureBehavior.ACCEPT, alpn));
        }
        SslContext context;
        try {
            context = builder.build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the TLS server context (" + provider + ", "
                    + material + "): " + e.getMessage(), e);
        }
        if (context instanceof ReferenceCountedOpenSslContext openSsl) {
            configureResumption(openSsl, options.sessionResumption());
        }
        return context;
    }

    /**
     * Netty's defaults are TLS 1.3 tickets (BoringSSL resumes TLS 1.3 from tickets only) and TLS 1.2 session IDs, no
     * TLS 1.2 tickets. On, tickets serve both versions, as nginx and HAProxy do by default: with no keys given,
     * BoringSSL makes the keys and rotates them itself, in memory only. A returning client (a browser, a connection
     * pool, wrk) then skips the certificate and its signature, the costly half of a handshake; TLS 1.3 resumption
     * still runs an ECDHE exchange (BoringSSL offers psk_dhe_ke only). Off, every handshake is a full one.
     */
    private static void configureResumption(ReferenceCountedOpenSslContext context, boolean on) {
        OpenSslSessionContext sessions = context.sessionContext();
        if (on) {
            sessions.setTicketKeys();
        } else {
            sessions.setSessionCacheEnabled(false);
        }
    }

    /**
     * The handler for one handshake with {@code context}. Netty turns TLS 1.3 tickets on for each new engine
     * whatever its context says, so resumption off is applied here.
     */
    public static SslHandler newHandler(SslContext context, ByteBufAllocator alloc, TlsOptions options) {
        SslHandler handler = context.newHandler(alloc);
        if (!options.sessionResumption() && handler.engine() instanceof ReferenceCountedOpenSslEngine engine) {
            SSL.setOptions(engine.sslPointer(), SSL.SSL_OP_NO_TICKET);
        }
        return handler;
    }

    /** The chain without its key, for a context whose signatures a private key method makes. */
    private static KeyManagerFactory keyless(X509Certificate[] chain) {
        try {
            return OpenSslX509KeyManagerFactory.newKeyless(chain);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot hand the certificate chain to BoringSSL: " + e.getMessage(), e);
        }
    }

    /**
     * Frees a context that was replaced, once no handshake can still be about to use it: a handshake that looked the
     * context up just before the swap creates its engine from it a moment later (an engine then keeps its context
     * alive by itself). JDK contexts need nothing.
     */
    public static void retire(SslContext context) {
        if (context instanceof ReferenceCounted) {
            GlobalEventExecutor.INSTANCE.schedule(() -> release(context), RETIRE_DELAY.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Frees a context nobody can use any more (never handed out, or the forwarder is stopping). */
    public static void release(SslContext context) {
        ReferenceCountUtil.release(context);
    }

    /** {@code "BoringSSL (netty-tcnative <version>)"} when netty-tcnative loaded, else {@code "JDK"}. */
    public static String providerName() {
        return OpenSsl.isAvailable() ? "BoringSSL (netty-tcnative " + TcnativeVersion.VALUE + ")" : "JDK";
    }

    /**
     * Reference-counted BoringSSL: each engine frees its native SSL when its handler is removed, rather than when a
     * finalizer runs after some later GC (with thousands of handshakes a second, the SSL objects awaiting finalization
     * held native memory and cost the collector extra work). The contexts are released by their owners:
     * {@link #retire} or {@link #release}.
     */
    static SslProvider provider() {
        if (OpenSsl.isAvailable()) {
            return SslProvider.OPENSSL_REFCNT;
        }
        if (fallbackReported.compareAndSet(false, true)) {
            log.warn("netty-tcnative (BoringSSL) is unavailable, using the slower JDK TLS provider: cause={}",
                    String.valueOf(OpenSsl.unavailabilityCause()));
        }
        return SslProvider.JDK;
    }

    /** Trusts no client certificate: the forwarder does not ask for one, so nothing should reach this. */
    private static final class NoClientCertificates extends X509ExtendedTrustManager {
        static final NoClientCertificates INSTANCE = new NoClientCertificates();

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("mergen-forwarder does not accept client certificates");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a server context checks no server certificates");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** Read once, on first use, so the lookup never runs on an event loop. */
    private static final class TcnativeVersion {
        static final String VALUE = read();

        private static String read() {
            try (InputStream in = ServerTls.class.getClassLoader().getResourceAsStream(TCNATIVE_POM)) {
                if (in != null) {
                    Properties properties = new Properties();
                    properties.load(in);
                    return properties.getProperty("version", "unknown version");
                }
            } catch (IOException e) {
                log.debug("cannot read {}: {}", TCNATIVE_POM, e.toString());
            }
            return "unknown version";
        }
    }
}

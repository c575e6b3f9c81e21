package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mergen.forwarder.config.RsaSigner;
import io.mergen.forwarder.tls.TestCertificates.Issued;
import io.mergen.forwarder.tls.TestCertificates.KeyFormat;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class ServerTlsTest {
    private static final List<String> CLIENT_OFFER = List.of("h2", "http/1.1");
    private static final Map<KeyFormat, Issued> issued = new EnumMap<>(KeyFormat.class);
    private static final RsaSigning OPENSSL_SIGNS = RsaSigning.of(RsaSigner.OPENSSL);
    private static final TlsOptions OPENSSL_OPTIONS = new TlsOptions(OPENSSL_SIGNS, true);
    private static EventLoopGroup group;

    @TempDir
    static Path dir;

    @BeforeAll
    static void issueAndStart() {
        for (KeyFormat format : KeyFormat.values()) {
            issued.put(format, TestCertificates.issue(dir.resolve(format.name()), format, "*.localhost"));
        }
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void usesBoringSslOnThisMachine() {
        assertThat(OpenSsl.isAvailable()).as("netty-tcnative loads: %s", OpenSsl.unavailabilityCause()).isTrue();
        assertThat(ServerTls.provider()).isEqualTo(SslProvider.OPENSSL_REFCNT);
        assertThat(ServerTls.providerName()).matches("BoringSSL \\(netty-tcnative 2\\.0\\.\\d+\\.Final\\)");
    }

    static Stream<Arguments> handshakes() {
        Stream<Arguments> boringSsl = Stream.of(KeyFormat.values())
                .flatMap(f -> Stream.of("TLSv1.2", "TLSv1.3")
                        .flatMap(p -> Stream.of(RsaSigner.BORINGSSL, RsaSigner.OPENSSL)
                                .map(signer -> Arguments.of(SslProvider.OPENSSL, signer, f, p))));
        Stream<Arguments> jdk = Stream.of(KeyFormat.RSA_PKCS1, KeyFormat.EC_SEC1)
                .flatMap(f -> Stream.of("TLSv1.2", "TLSv1.3")
                        .map(p -> Arguments.of(SslProvider.JDK, RsaSigner.BORINGSSL, f, p)));
        return Stream.concat(boringSsl, jdk);
    }

    @ParameterizedTest(name = "[{index}] {0}, signer {1}, {2} {3}")
    @MethodSource("handshakes")
    void completesAHandshakeWithoutAlpnByDefault(SslProvider provider, RsaSigner signer, KeyFormat format,
                                                 String protocol) throws Exception {
        Issued files = issued.get(format);
        SslContext context = ServerTls.serverContext(
                KeyMaterial.load(files.certFile(), files.keyFile()), List.of(), new TlsOptions(signing(signer), true), provider);

        try (EchoServer server = EchoServer.start(context)) {
            Handshake handshake = connect(server, files, protocol, CLIENT_OFFER);

            assertThat(handshake.protocol()).isEqualTo(protocol);
            assertThat(handshake.clientAlpn()).as("client-side ALPN").isEmpty();
            assertThat(server.alpn().get(10, TimeUnit.SECONDS)).as("server-side ALPN").isEmpty();
            assertThat(handshake.echo()).isEqualTo("ping");
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void selectsTheClientsPreferredOfferedProtocol(SslProvider provider) throws Exception {
        Issued files = issued.get(KeyFormat.EC_PKCS8);
        SslContext context = ServerTls.serverContext(KeyMaterial.load(files.certFile(), files.keyFile()),
                List.of("h2", "http/1.1"), TlsOptions.defaults(), provider);

        try (EchoServer server = EchoServer.start(context)) {
            Handshake handshake = connect(server, files, "TLSv1.3", CLIENT_OFFER);

            assertThat(handshake.clientAlpn()).isEqualTo("h2");
            assertThat(server.alpn().get(10, TimeUnit.SECONDS)).contains("h2");
        }
        try (EchoServer server = EchoServer.start(context)) {
            assertThat(connect(server, files, "TLSv1.2", List.of("http/1.1")).clientAlpn()).isEqualTo("http/1.1");
        }
        try (EchoServer server = EchoServer.start(context)) {
            Handshake handshake = connect(server, files, "TLSv1.3", List.of("spdy/3"));

            assertThat(handshake.clientAlpn()).as("no common protocol: connect without ALPN").isEmpty();
            assertThat(handshake.echo()).isEqualTo("ping");
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void enablesOnlyTls13And12(SslProvider provider) {
        Issued files = issued.get(KeyFormat.RSA_PKCS8);
        SslContext context = ServerTls.serverContext(
                KeyMaterial.load(files.certFile(), files.keyFile()), List.of(), OPENSSL_OPTIONS, provider);

        SSLEngine engine = context.newEngine(ByteBufAllocator.DEFAULT);

        // BoringSSL always lists SSLv2Hello, which only names a ClientHello format, not a protocol version.
        assertThat(engine.getEnabledProtocols()).contains("TLSv1.3", "TLSv1.2")
                .doesNotContain("TLSv1.1", "TLSv1", "SSLv3");
        assertThat(engine.getUseClientMode()).isFalse();
    }

    @Test
    void rejectsInvalidAlpnNames() {
        Issued files = issued.get(KeyFormat.EC_PKCS8);
        KeyMaterial material = KeyMaterial.load(files.certFile(), files.keyFile());

        assertThatThrownBy(() -> ServerTls.serverContext(material, List.of("h2", ""), TlsOptions.defaults()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("alpnProtocols: [h2, ] (expected: names of 1 to 255 bytes, such as h2 or http/1.1)");
    }

    /**
     * Every RSA scheme BoringSSL may ask libcrypto for: the client offers only that one for the RSA key, and verifies
     * the signature (PKCS#1 v1.5 signs handshakes in TLS 1.2 only, RFC 8446 section 4.2.3).
     */
    @ParameterizedTest
    @CsvSource({
            "TLSv1.2, rsa_pkcs1_sha256", "TLSv1.2, rsa_pkcs1_sha384", "TLSv1.2, rsa_pkcs1_sha512",
            "TLSv1.2, rsa_pss_rsae_sha256", "TLSv1.2, rsa_pss_rsae_sha512",
            "TLSv1.3, rsa_pss_rsae_sha256", "TLSv1.3, rsa_pss_rsae_sha384", "TLSv1.3, rsa_pss_rsae_sha512",
    })
    void libcryptoMakesEachRsaSignature(String protocol, String scheme) throws Exception {
        Issued files = issued.get(KeyFormat.RSA_PKCS1);
        KeyMaterial material = KeyMaterial.load(files.certFile(), files.keyFile());
        assertThat(OPENSSL_SIGNS.methodFor(material.key())).containsInstanceOf(LibcryptoRsaKey.class);
        SslContext context = ServerTls.serverContext(material, List.of(), OPENSSL_OPTIONS, SslProvider.OPENSSL);

        try (EchoServer server = EchoServer.start(context)) {
            assertThat(connect(server, files, protocol, List.of(), scheme).echo()).isEqualTo("ping");
        }
    }

    /** TLS 1.2's RSA key exchange has the key decrypt the premaster secret: a wrong one fails the Finished check. */
    @Test
    void libcryptoDecryptsTheRsaKeyExchange() throws Exception {
        Issued files = issued.get(KeyFormat.RSA_PKCS8);
        SslContext context = ServerTls.serverContext(
                KeyMaterial.load(files.certFile(), files.keyFile()), List.of(), OPENSSL_OPTIONS, SslProvider.OPENSSL);

        try (EchoServer server = EchoServer.start(context)) {
            // The JDK's client no longer offers TLS_RSA_* suites; openssl's does when asked.
            Process client = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                    "-servername", "app1.localhost", "-tls1_2", "-cipher", "AES128-GCM-SHA256",
                    "-CAfile", files.caFile().toString(), "-verify_return_error", "-brief")
                    .redirectErrorStream(true).start();
            client.getOutputStream().close();
            String output = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            assertThat(client.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(client.exitValue()).as(output).isZero();
            assertThat(output).contains("Ciphersuite: AES128-GCM-SHA256");
            assertThat(server.alpn().get(10, TimeUnit.SECONDS)).as("server-side handshake").isEmpty();
        }
    }

    /**
     * On, a client that kept the session of its first connection resumes it on the second. Off, the server gives
     * nothing to resume (no ticket, an empty TLS 1.2 session ID), so s_client has no session to save.
     */
    @ParameterizedTest
    @CsvSource({"true, TLSv1.3", "false, TLSv1.3", "true, TLSv1.2", "false, TLSv1.2"})
    void resumesSessionsUnlessTurnedOff(boolean resumption, String protocol) throws Exception {
        Issued files = issued.get(KeyFormat.RSA_PKCS8);
        TlsOptions options = new TlsOptions(OPENSSL_SIGNS, resumption);
        SslContext context = ServerTls.serverContext(KeyMaterial.load(files.certFile(), files.keyFile()),
                List.of(), options, SslProvider.OPENSSL);
        Path session = dir.resolve("session-" + resumption + "-" + protocol + ".pem");

        try (EchoServer server = EchoServer.start(context, options)) {
            assertThat(opensslClient(server, files, protocol, "-sess_out", session)).contains("New, " + protocol);
            if (resumption) {
                assertThat(opensslClient(server, files, protocol, "-sess_in", session))
                        .contains("Reused, " + protocol);
            } else {
                assertThat(session).doesNotExist();
            }
        }
    }

    /**
     * Runs {@code openssl s_client} with a session file option, sends a line and waits for its echo: a ticket comes
     * before the first application data, so by then the client holds any ticket the server sent.
     */
    private static String opensslClient(EchoServer server, Issued files, String protocol, String sessionOption,
                                        Path session) throws Exception {
        Process client = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-servername", "app1.localhost", protocol.equals("TLSv1.3") ? "-tls1_3" : "-tls1_2",
                "-CAfile", files.caFile().toString(),
                "-verify_return_error", sessionOption, session.toString())
                .redirectErrorStream(true).start();
        StringBuffer output = new StringBuffer();
        Thread reader = Thread.ofVirtual().start(() -> {
            byte[] chunk = new byte[4096];
            try (InputStream in = client.getInputStream()) {
                for (int n = in.read(chunk); n >= 0; n = in.read(chunk)) {
                    output.append(new String(chunk, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                output.append(e);
            }
        });
        try (OutputStream in = client.getOutputStream()) {
            in.write("ping-through-tls\n".getBytes(StandardCharsets.US_ASCII));
            in.flush();
            // s_client prints what the server sends; the echo comes after any ticket.
            await().atMost(Duration.ofSeconds(20)).until(() -> output.indexOf("ping-through-tls") >= 0);
        }
        assertThat(client.waitFor(20, TimeUnit.SECONDS)).isTrue();
        reader.join(Duration.ofSeconds(20));
        assertThat(client.exitValue()).as(output.toString()).isZero();
        return output.toString();
    }

    @Test
    void libcryptoSignsOnlyRsaKeysAndOnlyWhenChosen() {
        KeyMaterial ec = load(KeyFormat.EC_PKCS8);
        KeyMaterial rsa = load(KeyFormat.RSA_PKCS8);

        assertThat(OPENSSL_SIGNS.methodFor(ec.key())).isEmpty();
        assertThat(RsaSigning.of(RsaSigner.AUTO).methodFor(rsa.key())).containsInstanceOf(LibcryptoRsaKey.class);
        assertThat(RsaSigning.boringSsl().methodFor(rsa.key())).isEmpty();
        assertThat(RsaSigning.of(RsaSigner.BORINGSSL).methodFor(rsa.key())).isEmpty();
    }

    private static KeyMaterial load(KeyFormat format) {
        Issued files = issued.get(format);
        return KeyMaterial.load(files.certFile(), files.keyFile());
    }

    private static RsaSigning signing(RsaSigner signer) {
        return signer == RsaSigner.OPENSSL ? OPENSSL_SIGNS : RsaSigning.of(signer);
    }

    private record Handshake(String protocol, String clientAlpn, String echo) {}

    private static Handshake connect(EchoServer server, Issued files, String protocol, List<String> offer)
            throws IOException {
        return connect(server, files, protocol, offer, null);
    }

    private static Handshake connect(EchoServer server, Issued files, String protocol, List<String> offer,
                                     String signatureScheme) throws IOException {
        var factory = TestCertificates.trustingClient(files.caFile()).getSocketFactory();
        try (SSLSocket socket = (SSLSocket) factory.createSocket("127.0.0.1", server.port())) {
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setProtocols(new String[] {protocol});
            parameters.setApplicationProtocols(offer.toArray(String[]::new));
            parameters.setServerNames(List.of(new SNIHostName("app1.localhost")));
            if (signatureScheme != null) {
                // The test CA's own ECDSA signature on the leaf must stay verifiable; an RSA key cannot use it.
                parameters.setSignatureSchemes(new String[] {signatureScheme, "ecdsa_secp256r1_sha256"});
            }
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            socket.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String echo = new String(socket.getInputStream().readNBytes(4), StandardCharsets.US_ASCII);
            return new Handshake(socket.getSession().getProtocol(), socket.getApplicationProtocol(), echo);
        }
    }

    /** A TLS echo server on 127.0.0.1 that reports the ALPN protocol its first connection settled on. */
    private record EchoServer(Channel channel, CompletableFuture<Optional<String>> alpn) implements AutoCloseable {
        static EchoServer start(SslContext context) throws InterruptedException {
            return start(context, TlsOptions.defaults());
        }

        static EchoServer start(SslContext context, TlsOptions options) throws InterruptedException {
            CompletableFuture<Optional<String>> alpn = new CompletableFuture<>();
            Channel channel = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            SslHandler ssl = ServerTls.newHandler(context, ch.alloc(), options);
                            ch.pipeline().addLast(ssl, new ChannelInboundHandlerAdapter() {
                                @Override
                                public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                                    if (event instanceof SslHandshakeCompletionEvent completion) {
                                        if (completion.isSuccess()) {
                                            alpn.complete(Optional.ofNullable(ssl.applicationProtocol()));
                                        } else {
                                            alpn.completeExceptionally(completion.cause());
                                        }
                                    }
                                    ctx.fireUserEventTriggered(event);
                                }

                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object message) {
                                    ctx.writeAndFlush(message);
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    alpn.completeExceptionally(cause);
                                    ctx.close();
                                }
                            });
                        }
                    })
                    .bind("127.0.0.1", 0)
                    .sync()
                    .channel();
            return new EchoServer(channel, alpn);
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }
}

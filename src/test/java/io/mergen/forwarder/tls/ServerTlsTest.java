package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class ServerTlsTest {
    private static final List<String> CLIENT_OFFER = List.of("h2", "http/1.1");
    private static final Map<KeyFormat, Issued> issued = new EnumMap<>(KeyFormat.class);
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
                .flatMap(f -> Stream.of("TLSv1.2", "TLSv1.3").map(p -> Arguments.of(SslProvider.OPENSSL, f, p)));
        Stream<Arguments> jdk = Stream.of(KeyFormat.RSA_PKCS1, KeyFormat.EC_SEC1)
                .flatMap(f -> Stream.of("TLSv1.2", "TLSv1.3").map(p -> Arguments.of(SslProvider.JDK, f, p)));
        return Stream.concat(boringSsl, jdk);
    }

    @ParameterizedTest(name = "[{index}] {0} {1} {2}")
    @MethodSource("handshakes")
    void completesAHandshakeWithoutAlpnByDefault(SslProvider provider, KeyFormat format, String protocol)
            throws Exception {
        Issued files = issued.get(format);
        SslContext context = ServerTls.serverContext(
                KeyMaterial.load(files.certFile(), files.keyFile()), List.of(), provider);

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
        SslContext context = ServerTls.serverContext(
                KeyMaterial.load(files.certFile(), files.keyFile()), List.of("h2", "http/1.1"), provider);

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
                KeyMaterial.load(files.certFile(), files.keyFile()), List.of(), provider);

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

        assertThatThrownBy(() -> ServerTls.serverContext(material, List.of("h2", "")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("alpnProtocols: [h2, ] (expected: names of 1 to 255 bytes, such as h2 or http/1.1)");
    }

    private record Handshake(String protocol, String clientAlpn, String echo) {}

    private static Handshake connect(EchoServer server, Issued files, String protocol, List<String> offer)
            throws IOException {
        var factory = TestCertificates.trustingClient(files.caFile()).getSocketFactory();
        try (SSLSocket socket = (SSLSocket) factory.createSocket("127.0.0.1", server.port())) {
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setProtocols(new String[] {protocol});
            parameters.setApplicationProtocols(offer.toArray(String[]::new));
            parameters.setServerNames(List.of(new SNIHostName("app1.localhost")));
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
            CompletableFuture<Optional<String>> alpn = new CompletableFuture<>();
            Channel channel = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            SslHandler ssl = context.newHandler(ch.alloc());
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

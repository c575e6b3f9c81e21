package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mergen.forwarder.config.ConfigException;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class LocalIssuerTest {
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static EventLoopGroup group;

    @TempDir
    static Path dir;

    /** The two CA key types the issuer signs with; files are made once per class. */
    enum CaType {
        EC, RSA;

        Path certFile() {
            return dir.resolve(name()).resolve("ca.pem");
        }

        Path keyFile() {
            return dir.resolve(name()).resolve("ca-key.pem");
        }

        String signatureAlgorithm() {
            return this == EC ? "SHA256withECDSA" : "SHA256withRSA";
        }
    }

    @BeforeAll
    static void makeCasAndStart() throws IOException {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        // TestCertificates' CA: EC P-256 with a subjectKeyIdentifier; the leaf it also writes serves load errors.
        TestCertificates.issue(dir.resolve("EC"), "other.localhost");
        Path rsa = Files.createDirectories(dir.resolve("RSA"));
        TestCertificates.openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                rsa.resolve("ca-key.pem").toString(), "-out", rsa.resolve("ca.pem").toString(), "-days", "3",
                "-subj", "/O=mergen test/CN=mergen RSA test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @ParameterizedTest
    @EnumSource(CaType.class)
    void issuesAVerifiableLeafWithTheServerExtensions(CaType type) throws Exception {
        LocalIssuer issuer = LocalIssuer.load(type.certFile(), type.keyFile());
        Instant now = Instant.now();

        KeyMaterial material = issuer.issue("App1.LOCALHOST");

        X509Certificate ca = issuer.caCertificate();
        X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(material.leaf().getEncoded()));
        leaf.verify(ca.getPublicKey());
        assertThat(material.chain()).containsExactly(material.leaf(), ca);
        assertThat(PrivateKeys.matches(material.key(), leaf.getPublicKey())).isTrue();
        assertThat(leaf.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(leaf.getVersion()).isEqualTo(3);
        assertThat(leaf.getSigAlgName()).isEqualTo(type.signatureAlgorithm());
        assertThat(leaf.getSerialNumber().signum()).isPositive();
        assertThat(leaf.getSerialNumber().bitLength()).isBetween(100, 127);
        assertThat(leaf.getIssuerX500Principal().getEncoded()).isEqualTo(ca.getSubjectX500Principal().getEncoded());
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=app1.localhost");
        assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(2, "app1.localhost"));
        assertThat(leaf.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
        assertThat(leaf.getKeyUsage()).startsWith(true).containsOnlyOnce(true);
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getCriticalExtensionOIDs()).containsExactlyInAnyOrder("2.5.29.15", "2.5.29.19");
        assertThat(leaf.getNonCriticalExtensionOIDs())
                .containsExactlyInAnyOrder("2.5.29.17", "2.5.29.37", "2.5.29.14", "2.5.29.35");
        assertThat(LeafCertificates.subjectKeyIdentifierOf(leaf))
                .isEqualTo(LeafCertificates.keyIdentifier(leaf.getPublicKey()));
        assertThat(authorityKeyIdentifier(leaf)).isEqualTo(LeafCertificates.subjectKeyIdentifierOf(ca));
        assertThat(leaf.getNotBefore().toInstant())
                .isBetween(now.minus(Duration.ofMinutes(5)).minusSeconds(2), now.minus(Duration.ofMinutes(5)).plusSeconds(2));
        assertThat(leaf.getNotAfter().toInstant())
                .isBetween(now.plus(Duration.ofHours(24)).minusSeconds(2), now.plus(Duration.ofHours(24)).plusSeconds(2));
        leaf.checkValidity();
    }

    @Test
    void issuesADifferentKeyAndSerialEachTime() {
        LocalIssuer issuer = LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile());

        KeyMaterial first = issuer.issue("app1.localhost");
        KeyMaterial second = issuer.issue("app1.localhost");

        assertThat(first.leaf().getSerialNumber()).isNotEqualTo(second.leaf().getSerialNumber());
        assertThat(first.leaf().getPublicKey()).isNotEqualTo(second.leaf().getPublicKey());
    }

    /** A name longer than a CN may be (64) leaves the subject empty, which then requires a critical SAN. */
    @ParameterizedTest
    @ValueSource(strings = {"app1.localhost",
            "a-very-long-label-for-a-service-with-a-long-name.and-another-label.localhost"})
    void opensslVerifiesTheLeafAndShowsItsName(String name) {
        for (CaType type : CaType.values()) {
            LocalIssuer issuer = LocalIssuer.load(type.certFile(), type.keyFile());
            Path leaf = writePem(dir.resolve(type + "-" + name.length() + "-leaf.pem"), issuer.issue(name).leaf());

            String verified = TestCertificates.openssl(dir, "verify", "-x509_strict", "-purpose", "sslserver",
                    "-verify_hostname", name, "-CAfile", type.certFile().toString(), leaf.toString());
            String text = TestCertificates.openssl(dir, "x509", "-noout", "-text", "-in", leaf.toString());

            assertThat(verified).as(type.name()).contains(leaf + ": OK");
            assertThat(text).contains("DNS:" + name, "TLS Web Server Authentication", "CA:FALSE",
                    "Digital Signature", "X509v3 Authority Key Identifier");
        }
    }

    @Test
    void opensslRejectsTheLeafForAnotherName() {
        LocalIssuer issuer = LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile());
        Path leaf = writePem(dir.resolve("other-name-leaf.pem"), issuer.issue("app1.localhost").leaf());

        assertThatThrownBy(() -> TestCertificates.openssl(dir, "verify", "-verify_hostname", "app2.localhost",
                "-CAfile", CaType.EC.certFile().toString(), leaf.toString()))
                .hasMessageContaining("hostname mismatch");
    }

    @ParameterizedTest
    @EnumSource(CaType.class)
    void aTlsClientTrustingOnlyTheCaAcceptsTheLeafForItsNameOnly(CaType type) throws Exception {
        LocalIssuer issuer = LocalIssuer.load(type.certFile(), type.keyFile());
        for (SslProvider provider : List.of(ServerTls.provider(), SslProvider.JDK)) {
            SslContext context = ServerTls.serverContext(
                    issuer.issue("app1.localhost"), List.of(), TlsOptions.defaults(), provider);
            Channel server = startEchoServer(context);
            try {
                int port = ((InetSocketAddress) server.localAddress()).getPort();

                assertThat(handshake(type, port, "app1.localhost")).isEqualTo("ping");
                assertThatThrownBy(() -> handshake(type, port, "app2.localhost"))
                        .isInstanceOf(SSLHandshakeException.class)
                        .hasMessageContaining("app2.localhost");
            } finally {
                server.close().syncUninterruptibly();
            }
        }
    }

    @Test
    void cachesEachNameUntilAThirdOfItsLifetimeIsLeft() throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        LocalIssuer issuer = LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile(), clock, 100);

        KeyMaterial first = issuer.forName("app1.localhost");
        KeyMaterial other = issuer.forName("app2.localhost");

        assertThat(issuer.forName("app1.localhost")).isSameAs(first);
        assertThat(issuer.forName("APP1.localhost")).isSameAs(first);
        assertThat(other).isNotSameAs(first);
        assertThat(other.leaf().getSubjectAlternativeNames()).containsExactly(List.of(2, "app2.localhost"));
        assertThat(issuer.cachedNames()).isEqualTo(2);
        // The lifetime is 24 h 5 min, so a third of it is 8 h 1 min 40 s.
        clock.advance(Duration.ofHours(15));
        assertThat(issuer.forName("app1.localhost")).isSameAs(first);
        clock.advance(Duration.ofHours(1));
        KeyMaterial renewed = issuer.forName("app1.localhost");
        assertThat(renewed).isNotSameAs(first);
        assertThat(renewed.leaf().getNotAfter()).isAfter(first.leaf().getNotAfter());
        assertThat(issuer.forName("app1.localhost")).isSameAs(renewed);
        assertThat(issuer.cachedNames()).isEqualTo(2);
    }

    @Test
    void keepsAtMostMaxNamesAndEvictsTheOldest() {
        MutableClock clock = new MutableClock(Instant.now());
        LocalIssuer issuer = LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile(), clock, 3);
        List<KeyMaterial> issued = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            issued.add(issuer.forName("app" + i + ".localhost"));
            clock.advance(Duration.ofSeconds(10));
        }

        assertThat(issuer.cachedNames()).isEqualTo(3);
        assertThat(issuer.forName("app4.localhost")).isSameAs(issued.get(3));
        assertThat(issuer.forName("app2.localhost")).isSameAs(issued.get(1));
        assertThat(issuer.forName("app1.localhost")).isNotSameAs(issued.get(0));
        assertThat(issuer.cachedNames()).isEqualTo(3);
    }

    @Test
    void concurrentFirstRequestsForANameShareOneCertificate() throws Exception {
        LocalIssuer issuer = LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile());
        Callable<KeyMaterial> request = () -> issuer.forName("app1.localhost");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<KeyMaterial>> results = pool.invokeAll(List.of(request, request, request, request, request));
            KeyMaterial first = results.getFirst().get();
            for (Future<KeyMaterial> result : results) {
                assertThat(result.get()).isSameAs(first);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(CaType.class)
    void aLeafNeverOutlivesTheCa(CaType type) {
        Instant caNotAfter = LocalIssuer.load(type.certFile(), type.keyFile()).caCertificate().getNotAfter().toInstant();
        MutableClock clock = new MutableClock(caNotAfter.minus(Duration.ofHours(2)));
        LocalIssuer issuer = LocalIssuer.load(type.certFile(), type.keyFile(), clock, 10);

        X509Certificate leaf = issuer.issue("app1.localhost").leaf();
        assertThat(leaf.getNotAfter().toInstant()).isEqualTo(caNotAfter);
        assertThat(leaf.getNotBefore().toInstant())
                .isEqualTo(caNotAfter.minus(Duration.ofHours(2)).minus(Duration.ofMinutes(5)));

        clock.advance(Duration.ofHours(2));
        assertThatThrownBy(() -> issuer.issue("app1.localhost"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("expired at " + caNotAfter);
    }

    @Test
    void rejectsAnExpiredCaAtLoad() {
        Instant caNotAfter = LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile()).caCertificate()
                .getNotAfter().toInstant();
        MutableClock clock = new MutableClock(caNotAfter.plusSeconds(1));

        assertThatThrownBy(() -> LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile(), clock, 10))
                .isInstanceOfSatisfying(ConfigException.class,
                        e -> assertThat(e.variable()).isEqualTo("FWD_TLS_CA_CERT_FILE"))
                .hasMessageContaining("expired at " + caNotAfter);
    }

    @Test
    void loadErrorsNameTheCaVariables() {
        Path ec = dir.resolve("EC");
        Path missing = dir.resolve("missing.pem");

        assertThatThrownBy(() -> LocalIssuer.load(missing, CaType.EC.keyFile()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("FWD_TLS_CA_CERT_FILE=\"" + missing + "\": file does not exist");
        assertThatThrownBy(() -> LocalIssuer.load(CaType.EC.certFile(), missing))
                .isInstanceOf(ConfigException.class)
                .hasMessage("FWD_TLS_CA_KEY_FILE=\"" + missing + "\": file does not exist");
        assertThatThrownBy(() -> LocalIssuer.load(CaType.EC.keyFile(), CaType.EC.keyFile()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("FWD_TLS_CA_CERT_FILE=")
                .hasMessageContaining("no CERTIFICATE block found");
        assertThatThrownBy(() -> LocalIssuer.load(CaType.EC.certFile(), ec.resolve("key.pem")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("FWD_TLS_CA_KEY_FILE=")
                .hasMessageContaining("does not match the CA certificate");
        assertThatThrownBy(() -> LocalIssuer.load(CaType.EC.certFile(), CaType.RSA.keyFile()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("FWD_TLS_CA_KEY_FILE=")
                .hasMessageContaining("private key (RSA) does not match");
        assertThatThrownBy(() -> LocalIssuer.load(ec.resolve("cert.pem"), ec.resolve("key.pem")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("FWD_TLS_CA_CERT_FILE=")
                .hasMessageContaining("is not a CA");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "app1..localhost", ".localhost", "localhost.", "-app.localhost", "app-.localhost",
            "app_1.localhost", "*.localhost", "app1.localhost:443", "bücher.localhost", "10.0.0.1:x"})
    void rejectsNamesThatAreNotHostNames(String name) {
        LocalIssuer issuer = LocalIssuer.load(CaType.EC.certFile(), CaType.EC.keyFile());

        assertThatThrownBy(() -> issuer.forName(name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("dnsName: " + name + " (expected: ");
        assertThat(issuer.cachedNames()).isZero();
    }

    /** Connects to 127.0.0.1 but names {@code host}, so SNI and the HTTPS host check use it without any DNS. */
    private static String handshake(CaType type, int port, String host) throws IOException {
        var factory = TestCertificates.trustingClient(type.certFile()).getSocketFactory();
        Socket plain = new Socket("127.0.0.1", port);
        try (SSLSocket socket = (SSLSocket) factory.createSocket(plain, host, port, true)) {
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            socket.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readNBytes(4), StandardCharsets.US_ASCII);
        }
    }

    private static Channel startEchoServer(SslContext context) throws InterruptedException {
        return new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(context.newHandler(ch.alloc()), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object message) {
                                ctx.writeAndFlush(message);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                })
                .bind("127.0.0.1", 0)
                .sync()
                .channel();
    }

    /** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }. */
    private static byte[] authorityKeyIdentifier(X509Certificate certificate) {
        byte[] extension = certificate.getExtensionValue("2.5.29.35");
        Der.Element keyId = new Der.Reader(extension).next(Der.OCTET_STRING).contents().next(Der.SEQUENCE).contents()
                .next(0x80);
        return keyId.value();
    }

    private static Path writePem(Path file, X509Certificate certificate) {
        try {
            String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(certificate.getEncoded());
            TestCertificates.write(file, "-----BEGIN CERTIFICATE-----\n" + base64 + "\n-----END CERTIFICATE-----\n");
            return file;
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class MutableClock extends Clock {
        private final AtomicReference<Instant> now;

        MutableClock(Instant start) {
            this.now = new AtomicReference<>(start.truncatedTo(ChronoUnit.MILLIS));
        }

        void advance(Duration duration) {
            now.updateAndGet(t -> t.plus(duration));
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    }
}

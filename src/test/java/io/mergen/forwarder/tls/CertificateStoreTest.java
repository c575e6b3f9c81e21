package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mergen.forwarder.config.CertPair;
import io.mergen.forwarder.config.ConfigException;
import io.mergen.forwarder.tls.TestCertificates.Issued;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ReferenceCounted;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLEngine;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CertificateStoreTest {
    /** The brief asks for a rotation to be seen within a second; the extra second absorbs a loaded test machine. */
    private static final Duration ROTATION = Duration.ofSeconds(2);

    /** Issued once: openssl takes a while, and the selection tests only read them. */
    private static Issued localhost;
    private static Issued exampleCom;
    private static Issued wwwExampleCom;
    private static Issued apiExampleOrg;
    private static Issued replacement;

    @TempDir
    static Path issuedDir;
    @TempDir
    Path dir;

    private CertificateStore store;

    @BeforeAll
    static void issue() {
        localhost = TestCertificates.issue(issuedDir.resolve("localhost"), "*.localhost");
        exampleCom = TestCertificates.issue(issuedDir.resolve("example-com"), "*.example.com");
        wwwExampleCom = TestCertificates.issue(issuedDir.resolve("www-example-com"), "www.example.com");
        apiExampleOrg = TestCertificates.issue(issuedDir.resolve("api-example-org"), "API.Example.org.");
        replacement = TestCertificates.issue(issuedDir.resolve("replacement"), "*.localhost", "localhost");
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    @ParameterizedTest
    @CsvSource(nullValues = "null", value = {
            "app1.localhost,        localhost",
            "APP1.LocalHost.,       localhost",
            "x.example.com,         exampleCom",
            "X.EXAMPLE.COM.,        exampleCom",
            "www.example.com,       wwwExampleCom",
            "api.example.org,       apiExampleOrg",
            "api.example.org.,      apiExampleOrg",
            "a.b.example.com,       localhost",
            "example.com,           localhost",
            ".example.com,          localhost",
            "unknown.net,           localhost",
            "'',                    localhost",
            "null,                  localhost",
    })
    void picksThePairCoveringTheServerNameElseTheDefault(String serverName, String expected) {
        // The wildcard pair comes before the exact one: an exact name still wins over it.
        store = load(pair(localhost),
                List.of(pair(exampleCom), pair(wwwExampleCom), pair(apiExampleOrg)));

        assertThat(store.material(serverName).leaf()).isEqualTo(leaf(switch (expected) {
            case "localhost" -> localhost;
            case "exampleCom" -> exampleCom;
            case "wwwExampleCom" -> wwwExampleCom;
            case "apiExampleOrg" -> apiExampleOrg;
            default -> throw new IllegalArgumentException(expected);
        }));
    }

    @Test
    void aNameListedByTwoPairsGoesToTheFirst() {
        store = load(pair(exampleCom), List.of(pair(localhost), pair(replacement)));

        assertThat(store.material("app1.localhost").leaf()).isEqualTo(leaf(localhost));
        assertThat(store.material("localhost").leaf()).isEqualTo(leaf(replacement));
    }

    @Test
    void cachesOneContextPerPairAndAlpnList() {
        store = load(pair(localhost), List.of(pair(exampleCom)));
        store.prepare(List.of("h2", "http/1.1"));

        SslContext h2 = store.context("a.localhost", List.of("h2", "http/1.1"));

        assertThat(store.context("b.localhost", new ArrayList<>(List.of("h2", "http/1.1")))).isSameAs(h2);
        assertThat(store.context("b.localhost", List.of())).isNotSameAs(h2)
                .isSameAs(store.context("c.localhost", List.of()));
        assertThat(store.context("a.example.com", List.of("h2", "http/1.1"))).isNotSameAs(h2);
    }

    @Test
    void rejectsABadAlpnListWhenPrepared() {
        store = load(pair(localhost), List.of());

        assertThatThrownBy(() -> store.prepare(List.of("")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("alpnProtocols: [] ");
    }

    @Test
    void servesThePairForTheSniNameInARealHandshake() throws Exception {
        store = load(pair(localhost), List.of(pair(exampleCom)));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new SniHandler(name -> store.context(name, List.of())));
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            int port = ((InetSocketAddress) server.localAddress()).getPort();

            assertThat(servedLeaf(port, "x.example.com", exampleCom)).isEqualTo(leaf(exampleCom));
            assertThat(servedLeaf(port, "app1.localhost", localhost)).isEqualTo(leaf(localhost));
            assertThat(servedLeaf(port, "other.example.net", localhost)).isEqualTo(leaf(localhost));
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void reportsTheEarliestExpiryInService() throws IOException {
        Path shortLived = dir.resolve("short");
        Files.createDirectories(shortLived);
        TestCertificates.openssl(shortLived, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "2", "-subj", "/CN=short.example", "-addext", "subjectAltName=DNS:short.example",
                "-keyout", "key.pem", "-out", "cert.pem");
        CertPair shortPair = new CertPair(shortLived.resolve("cert.pem"), shortLived.resolve("key.pem"));

        store = load(pair(localhost), List.of());
        assertThat(store.earliestExpiryEpochSeconds()).isEqualTo(notAfter(leaf(localhost)));

        store.close();
        store = load(pair(localhost), List.of(shortPair));
        long expected = notAfter(store.material("short.example").leaf());
        assertThat(expected).isLessThan(notAfter(leaf(localhost)));
        assertThat(store.earliestExpiryEpochSeconds()).isEqualTo(expected);
    }

    @Test
    void aBadPairAtStartNamesItsVariable() throws IOException {
        CertPair mismatched = new CertPair(exampleCom.certFile(), localhost.keyFile());
        CertPair missing = new CertPair(exampleCom.certFile(), dir.resolve("absent.pem"));

        assertThatThrownBy(() -> load(mismatched, List.of()))
                .isInstanceOfSatisfying(ConfigException.class,
                        e -> assertThat(e.variable()).isEqualTo("FWD_TLS_KEY_FILE"));
        assertThatThrownBy(() -> load(pair(localhost), List.of(pair(exampleCom), missing)))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.variable()).isEqualTo("FWD_TLS_CERTS");
                    assertThat(e.value()).isEqualTo(missing.toString());
                    assertThat(e.getMessage()).isEqualTo("FWD_TLS_CERTS=\"" + missing + "\": key \""
                            + missing.key() + "\": file does not exist");
                });
    }

    @Test
    void picksUpAnInPlaceRewrite() throws IOException {
        CertPair live = copyOf(localhost, "live");
        store = load(live, List.of());
        store.prepare(List.of());
        store.start();

        Files.write(live.key(), Files.readAllBytes(replacement.keyFile()));
        Files.write(live.cert(), Files.readAllBytes(replacement.certFile()));

        await().atMost(ROTATION).until(() -> store.material("app1.localhost").leaf().equals(leaf(replacement)));
        assertThat(store.reloads()).isEqualTo(1);
        assertThat(store.context("app1.localhost", List.of()).newEngine(ByteBufAllocator.DEFAULT))
                .isNotNull();
    }

    @Test
    void aReplacedContextStaysUsableForAHandshakeThatJustPickedIt() throws IOException {
        CertPair live = copyOf(localhost, "live");
        store = load(live, List.of());
        store.prepare(List.of());
        store.start();
        SslContext before = store.context("app1.localhost", List.of());

        Files.write(live.key(), Files.readAllBytes(replacement.keyFile()));
        Files.write(live.cert(), Files.readAllBytes(replacement.certFile()));
        await().atMost(ROTATION).until(() -> store.material("app1.localhost").leaf().equals(leaf(replacement)));

        // Retired, not yet released: an engine can still be made from it, and keeps it alive by itself.
        assertThat(((ReferenceCounted) before).refCnt()).isEqualTo(1);
        SSLEngine late = before.newEngine(ByteBufAllocator.DEFAULT);
        assertThat(((ReferenceCounted) before).refCnt()).isEqualTo(2);
        ReferenceCountUtil.release(late);
    }

    @Test
    void closeFreesTheNativeContexts() {
        store = load(pair(localhost), List.of(pair(exampleCom)));
        store.prepare(List.of());
        store.prepare(List.of("h2", "http/1.1"));
        List<SslContext> contexts = List.of(store.context("app1.localhost", List.of()),
                store.context("app1.localhost", List.of("h2", "http/1.1")), store.context("a.example.com", List.of()));
        assertThat(contexts).allSatisfy(c -> assertThat(((ReferenceCounted) c).refCnt()).isEqualTo(1));

        store.close();

        assertThat(contexts).allSatisfy(c -> assertThat(((ReferenceCounted) c).refCnt()).isZero());
    }

    @Test
    void picksUpAnAtomicRenameIntoPlace() throws IOException {
        CertPair live = copyOf(localhost, "live");
        CertPair other = copyOf(exampleCom, "other");
        store = load(live, List.of(other));
        store.start();

        Path tmpCert = live.cert().resolveSibling(".cert.pem.tmp");
        Path tmpKey = live.key().resolveSibling(".key.pem.tmp");
        Files.copy(replacement.certFile(), tmpCert);
        Files.copy(replacement.keyFile(), tmpKey);
        Files.move(tmpCert, live.cert(), StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmpKey, live.key(), StandardCopyOption.ATOMIC_MOVE);

        await().atMost(ROTATION).until(() -> store.material("app1.localhost").leaf().equals(leaf(replacement)));
        assertThat(store.material("x.example.com").leaf()).isEqualTo(leaf(exampleCom));
        assertThat(store.reloads()).as("only the changed pair reloads").isEqualTo(1);
        assertThat(store.reloadFailures()).isZero();
    }

    @Test
    void aMismatchedPairKeepsTheOldOneInService() throws IOException {
        CertPair live = copyOf(localhost, "live");
        store = load(live, List.of());
        store.start();

        Files.write(live.cert(), Files.readAllBytes(replacement.certFile()));

        await().atMost(ROTATION).until(() -> store.reloadFailures() == 1);
        assertThat(store.material("app1.localhost").leaf()).isEqualTo(leaf(localhost));
        assertThat(store.reloads()).isZero();

        // The key arriving later completes the pair.
        Files.write(live.key(), Files.readAllBytes(replacement.keyFile()));
        await().atMost(ROTATION).until(() -> store.material("app1.localhost").leaf().equals(leaf(replacement)));
        assertThat(store.reloads()).isEqualTo(1);
    }

    @Test
    void garbageKeepsTheOldOneInService() throws IOException {
        CertPair live = copyOf(localhost, "live");
        store = load(live, List.of());
        store.start();

        Files.writeString(live.key(), "-----BEGIN PRIVATE KEY-----\nnot base64!\n", StandardCharsets.US_ASCII);

        await().atMost(ROTATION).until(() -> store.reloadFailures() == 1);
        assertThat(store.material("app1.localhost").leaf()).isEqualTo(leaf(localhost));
        assertThat(store.earliestExpiryEpochSeconds()).isEqualTo(notAfter(leaf(localhost)));
    }

    @Test
    void reloadForcesAReloadOfEveryPair() throws IOException {
        CertPair live = copyOf(localhost, "live");
        CertPair other = copyOf(exampleCom, "other");
        store = load(live, List.of(other));

        assertThat(store.reload()).isEqualTo(new CertificateStore.ReloadSummary(0, 2, 0));

        Files.copy(replacement.certFile(), live.cert(), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(replacement.keyFile(), live.key(), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(other.cert(), "garbage");

        CertificateStore.ReloadSummary summary = store.reload();

        assertThat(summary).isEqualTo(new CertificateStore.ReloadSummary(1, 0, 1));
        assertThat(summary.ok()).isFalse();
        assertThat(store.material("app1.localhost").leaf()).isEqualTo(leaf(replacement));
        assertThat(store.material("x.example.com").leaf()).isEqualTo(leaf(exampleCom));
        assertThat(store.reloads()).isEqualTo(1);
        assertThat(store.reloadFailures()).isEqualTo(1);
    }

    @Test
    void closeStopsTheWatcherThread() {
        store = load(pair(localhost), List.of(pair(exampleCom)));
        store.start();
        Thread watcher = store.watcher();

        assertThat(watcher.getName()).isEqualTo("cert-watch");
        assertThat(watcher.isDaemon()).isTrue();
        assertThat(watcher.isVirtual()).isFalse();
        assertThat(watcher.isAlive()).isTrue();
        assertThatThrownBy(store::start).isInstanceOf(IllegalStateException.class).hasMessage("already started");

        store.close();

        await().atMost(ROTATION).until(() -> !watcher.isAlive());
        assertThatThrownBy(store::start).isInstanceOf(IllegalStateException.class).hasMessage("closed");
    }

    private static CertPair pair(Issued issued) {
        return new CertPair(issued.certFile(), issued.keyFile());
    }

    private CertPair copyOf(Issued issued, String folder) throws IOException {
        Path target = Files.createDirectories(dir.resolve(folder));
        CertPair pair = new CertPair(target.resolve("cert.pem"), target.resolve("key.pem"));
        Files.copy(issued.certFile(), pair.cert());
        Files.copy(issued.keyFile(), pair.key());
        return pair;
    }

    private static X509Certificate leaf(Issued issued) {
        return KeyMaterial.load(issued.certFile(), issued.keyFile()).leaf();
    }

    private static long notAfter(X509Certificate certificate) {
        return certificate.getNotAfter().toInstant().getEpochSecond();
    }

    /** Connects with {@code serverName} as SNI, trusting only {@code trusted}'s CA, and returns the leaf served. */
    private static X509Certificate servedLeaf(int port, String serverName, Issued trusted) throws IOException {
        var factory = TestCertificates.trustingClient(trusted.caFile()).getSocketFactory();
        try (SSLSocket socket = (SSLSocket) factory.createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(serverName)));
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }

    private static CertificateStore load(CertPair defaultPair, List<CertPair> extra) {
        return CertificateStore.load(defaultPair, extra, TlsOptions.defaults());
    }
}

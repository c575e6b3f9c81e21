package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The whole forwarder against real namespaces, real nginx guests and real curl. Every VM has the same guest
 * address, which the host namespace routes to "unreachable": only a dial made inside the right namespace
 * can reach a guest, and a wrong one fails at once without leaving the machine.
 */
@Tag("e2e")
class ForwarderEndToEndTest {
    private static final String GUEST_IP = "10.213.9.2";
    private static final String GUEST_RANGE = "10.213.9.0/24";
    private static final int BIG_FILE_MIB = 200;

    @TempDir
    static Path work;

    private static final List<GuestVm> vms = new ArrayList<>();
    private static final List<TestForwarder> forwarders = new ArrayList<>();
    private static UnreachableRange route;
    private static Path configRoot;
    private static Path files;
    private static String bigFileSha256;
    private static TestCertificates.Issued certs;
    private static GuestVm app1;
    private static GuestVm app2;
    private static Curl https;
    private static Curl httpsWithPrefix;
    private static int rawPort;
    private static int streamPort;

    @BeforeAll
    static void startVmsAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        configRoot = Files.createDirectories(work.resolve("vm.d"));
        files = Files.createDirectories(work.resolve("files"));
        bigFileSha256 = writeRandomFile(files.resolve("big.bin"), BIG_FILE_MIB);
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "*.vm.localhost", "app1.localhost", "app2.localhost", "billing.localhost",
                "late.localhost", "doomed.localhost", "app9.localhost", "app1.vm.localhost", "app1.example.org");

        app1 = startVm("app1", "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}, \"metadata\": {\"name\": \"billing\"}");
        app2 = startVm("app2", "2026-01-02T00:00:00Z", "\"tags\": {\"name\": \"app2\"}, \"httpPort\": 8080");

        int httpsPort = TestPorts.free();
        rawPort = TestPorts.free();
        streamPort = TestPorts.free();
        startForwarder(Map.of("FWD_LISTENERS",
                "127.0.0.1:" + httpsPort + "=443,127.0.0.1:" + rawPort + "=22/raw,127.0.0.1:" + streamPort + "=9092"));
        https = new Curl(certs.caFile(), httpsPort);

        int prefixPort = TestPorts.free();
        startForwarder(Map.of("FWD_LISTENERS", "127.0.0.1:" + prefixPort + "=443", "FWD_DOMAIN_PREFIX", "vm"));
        httpsWithPrefix = new Curl(certs.caFile(), prefixPort);
    }

    private static GuestVm startVm(String name, String createdAt, String extraJson) {
        GuestVm vm = GuestVm.start(work, name, GUEST_IP, files);
        vms.add(vm);
        vm.writeMeta(configRoot, createdAt, extraJson);
        return vm;
    }

    private static void startForwarder(Map<String, String> overrides) throws InterruptedException {
        forwarders.add(TestForwarder.start(configRoot, certs, overrides));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        for (TestForwarder forwarder : forwarders) {
            forwarder.close();
        }
        vms.forEach(GuestVm::close);
        if (route != null) {
            route.close();
        }
    }

    @Test
    void routesByTagAppToTheRightVm() {
        Curl.Response response = https.get("app1.localhost", "/whoami");
        assertThat(response.status()).as(response.stderr()).isEqualTo(200);
        assertThat(response.body()).isEqualTo(app1.whoami());
    }

    @Test
    void routesByMetadataName() {
        assertThat(https.get("billing.localhost", "/whoami").body()).isEqualTo(app1.whoami());
    }

    @Test
    void routesByFullIdAndByEightCharacterPrefix() {
        String fullName = app1.id() + ".localhost";
        Curl.Response byId = https.get(fullName, "/whoami", "-k");
        assertThat(byId.status()).as(byId.stderr()).isEqualTo(200);
        assertThat(byId.body()).isEqualTo(app1.whoami());

        Curl.Response byPrefix = https.get(app1.shortId() + ".localhost", "/whoami", "-k");
        assertThat(byPrefix.body()).isEqualTo(app1.whoami());
    }

    @Test
    void labelIsCaseInsensitiveAndATrailingDotIsAccepted() {
        assertThat(https.get("APP1.localhost", "/whoami").body()).isEqualTo(app1.whoami());
        assertThat(https.get("app1.localhost.", "/whoami", "-k").body()).isEqualTo(app1.whoami());
    }

    @Test
    void httpPortReplacesTheGuestPortOnTheHttpsListener() {
        Curl.Response response = https.get("app2.localhost", "/port");
        assertThat(response.status()).as(response.stderr()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("app2 on 8080\n");
    }

    @Test
    void prefixFormRoutesLabelUnderPrefixAndSuffix() {
        assertThat(httpsWithPrefix.get("app1.vm.localhost", "/whoami").body()).isEqualTo(app1.whoami());
        Curl.Response outside = httpsWithPrefix.get("app1.localhost", "/whoami");
        assertThat(outside.status()).isEqualTo(404);
    }

    @Test
    void unknownLabelGets404WithAPlainTextReason() {
        Curl.Response response = https.get("app9.localhost", "/whoami", "-i");
        assertThat(response.status()).isEqualTo(404);
        assertThat(response.body()).contains("Content-Type: text/plain", "Connection: close",
                "no VM named app9 on this host");
    }

    @Test
    void nameOutsideTheDomainGets404() {
        assertThat(https.get("app1.example.org", "/whoami").status()).isEqualTo(404);
    }

    @Test
    void missingSniGets421() {
        Curl.Response response = https.getByAddress("/whoami");
        assertThat(response.status()).isEqualTo(421);
        assertThat(response.body()).contains("SNI");
    }

    @Test
    void vmWhoseNamespaceWasDeletedGets502WhileOthersKeepWorking() {
        GuestVm doomed = startVm("doomed", "2026-01-03T00:00:00Z", "\"tags\": {\"app\": \"doomed\"}");
        await().atMost(Duration.ofSeconds(2)).until(() -> https.get("doomed.localhost", "/whoami").status() == 200);

        doomed.deleteNamespace();

        Curl.Response response = https.get("doomed.localhost", "/whoami");
        assertThat(response.status()).isEqualTo(502);
        assertThat(response.body()).contains("VM doomed is not reachable");
        assertThat(https.get("app1.localhost", "/whoami").body()).isEqualTo(app1.whoami());
    }

    @Test
    void vmAddedWhileRunningIsRoutableWithinASecond() {
        assertThat(https.get("late.localhost", "/whoami").status()).isEqualTo(404);
        GuestVm late = startVm("late", "2026-01-04T00:00:00Z", "\"tags\": {\"app\": \"late\"}");
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(50))
                .until(() -> https.get("late.localhost", "/whoami").status() == 200);
        assertThat(https.get("late.localhost", "/whoami").body()).isEqualTo(late.whoami());
    }

    @Test
    void rawListenerReachesTheFirstVmAtOnce() throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", rawPort), 5_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET /whoami HTTP/1.0\r\nHost: raw\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 200").endsWith(app1.whoami());
        }
    }

    @Test
    void kafkaListenerRefusesAnUnknownNameWithAnUnrecognizedNameAlert() throws Exception {
        assertThatThrownBy(() -> tlsHandshake("app9.localhost", streamPort))
                .isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("unrecognized_name");
    }

    @Test
    void bigDownloadArrivesByteExact() throws Exception {
        Path download = work.resolve("download.bin");
        Curl.Response response = https.get("app1.localhost", "/files/big.bin", "-o", download.toString());
        assertThat(response.status()).as(response.stderr()).isEqualTo(200);
        assertThat(Files.size(download)).isEqualTo((long) BIG_FILE_MIB << 20);
        assertThat(sha256(download)).isEqualTo(bigFileSha256);
        Files.delete(download);
    }

    private static void tlsHandshake(String serverName, int port) throws Exception {
        SSLContext context = TestCertificates.trustingClient(certs.caFile());
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(serverName)));
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
        }
    }

    static String writeRandomFile(Path file, int mebibytes) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        Random random = new Random(42);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < mebibytes; i++) {
                random.nextBytes(chunk);
                digest.update(chunk);
                out.write(chunk);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}

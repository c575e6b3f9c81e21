package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real curl through the forwarder's HTTPS listener to nginx in VM namespaces: 200 parallel transfers from one curl
 * all get their own file, 1 GiB arrives byte-exact, and HTTP/2 is negotiated by ALPN only where a listener offers it.
 */
@Tag("e2e")
class HttpsClientsEndToEndTest {
    private static final String GUEST_IP = "10.213.20.2";
    private static final String GUEST_RANGE = "10.213.20.0/24";
    private static final int PARALLEL_TRANSFERS = 200;
    private static final long HUGE_FILE_BYTES = 1L << 30;
    private static final int H2C_PORT = 8081;

    @TempDir
    static Path work;

    private static final List<GuestVm> vms = new ArrayList<>();
    private static TestForwarder forwarder;
    private static UnreachableRange route;
    private static Path configRoot;
    private static Path files;
    private static TestCertificates.Issued certs;
    private static int httpsPort;

    @BeforeAll
    static void startGuestsAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        configRoot = Files.createDirectories(work.resolve("vm.d"));
        files = Files.createDirectories(work.resolve("files"));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "app1.localhost", "h2app.localhost");

        GuestVm app1 = GuestVm.start(work, "app1", GUEST_IP, files);
        vms.add(app1);
        app1.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");

        GuestVm h2app = GuestVm.create(work, "h2app", GUEST_IP);
        vms.add(h2app);
        H2cGuest.start(h2app, H2C_PORT);
        h2app.writeMeta(configRoot, "2026-01-02T00:00:00Z",
                "\"tags\": {\"app\": \"h2app\"}, \"httpPort\": " + H2C_PORT);

        httpsPort = TestPorts.free();
        forwarder = TestForwarder.start(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + httpsPort + "=443"));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (forwarder != null) {
            forwarder.close();
        }
        vms.forEach(GuestVm::close);
        if (route != null) {
            route.close();
        }
    }

    @Test
    void twoHundredParallelTransfersFromOneCurlEachGetTheirOwnFile() throws Exception {
        Path parallel = Files.createDirectories(files.resolve("parallel"));
        Path received = Files.createDirectories(work.resolve("received"));
        Map<String, String> expected = new TreeMap<>();
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "60",
                "--cacert", certs.caFile().toString(), "--resolve", "app1.localhost:" + httpsPort + ":127.0.0.1",
                "--parallel", "--parallel-max", Integer.toString(PARALLEL_TRANSFERS), "--parallel-immediate",
                "--output-dir", received.toString(), "--remote-name-all",
                "-w", "%{http_code} %{num_connects} %{filename_effective}\\n"));
        for (int i = 0; i < PARALLEL_TRANSFERS; i++) {
            String name = "item-%03d.txt".formatted(i);
            String body = "item %d %016x\n".formatted(i, i * 0x9E3779B97F4A7C15L);
            Files.writeString(parallel.resolve(name), body);
            expected.put(name, body);
            command.add("https://app1.localhost:" + httpsPort + "/files/parallel/" + name);
        }

        Shell.Result result = Shell.run(command, 90);

        assertThat(result.exitCode()).as(result.stderr()).isZero();
        List<String> transfers = result.stdout().lines().toList();
        assertThat(transfers).hasSize(PARALLEL_TRANSFERS).allMatch(line -> line.startsWith("200 "));
        int connections = transfers.stream().mapToInt(line -> Integer.parseInt(line.split(" ")[1])).sum();
        // --parallel-immediate opens a connection per transfer instead of waiting to reuse one: truly parallel.
        assertThat(connections).isEqualTo(PARALLEL_TRANSFERS);
        for (Map.Entry<String, String> file : expected.entrySet()) {
            assertThat(received.resolve(file.getKey())).hasContent(file.getValue());
        }
    }

    @Test
    void oneGibibyteDownloadArrivesByteExact() throws Exception {
        Path huge = files.resolve("huge.bin");
        try {
            String sha256 = writeSeededFile(huge, HUGE_FILE_BYTES);

            Download download = downloadThroughDigest("https://app1.localhost:" + httpsPort + "/files/huge.bin");

            assertThat(download.exitCode()).as(download.stderr()).isZero();
            assertThat(download.bytes()).isEqualTo(HUGE_FILE_BYTES);
            assertThat(download.sha256()).isEqualTo(sha256);
        } finally {
            Files.deleteIfExists(huge);
        }
    }

    @Test
    void defaultListenerOffersNoAlpnSoCurlSpeaksHttp11() {
        Shell.Result result = httpVersion(httpsPort, "app1.localhost");

        assertThat(result.exitCode()).as(result.stderr()).isZero();
        assertThat(result.stdout()).isEqualTo("1.1");
    }

    /** A listener that offers h2 by ALPN, relaying to a guest that speaks h2c on its httpPort. */
    @Nested
    class H2Option {
        @Test
        void curlNegotiatesHttp2AndTheH2cGuestAnswers() throws Exception {
            int h2Port = TestPorts.free();
            try (TestForwarder h2Forwarder = TestForwarder.start(configRoot, certs,
                    Map.of("FWD_LISTENERS", "127.0.0.1:" + h2Port + "=443/tls+h2"))) {
                Shell.Result version = httpVersion(h2Port, "h2app.localhost");
                Curl.Response body = new Curl(certs.caFile(), h2Port).get("h2app.localhost", "/whoami", "--http2");

                assertThat(version.exitCode()).as(version.stderr()).isZero();
                assertThat(version.stdout()).isEqualTo("2");
                assertThat(body.status()).as(body.stderr()).isEqualTo(200);
                assertThat(body.body()).isEqualTo("h2app HTTP/2.0\n");
            }
        }
    }

    /** curl --http2 offers h2 and http/1.1 by ALPN; it prints the HTTP version the transfer used. */
    private static Shell.Result httpVersion(int port, String host) {
        return Shell.run(List.of("curl", "--http2", "-sS", "--max-time", "20", "-o", "/dev/null",
                "-w", "%{http_version}", "--cacert", certs.caFile().toString(),
                "--resolve", host + ":" + port + ":127.0.0.1", "https://" + host + ":" + port + "/whoami"), 60);
    }

    private record Download(int exitCode, long bytes, String sha256, String stderr) {
    }

    /** Downloads with curl and hashes its output as it streams, so the download never lands on disk. */
    private static Download downloadThroughDigest(String url) throws Exception {
        Path stderr = work.resolve("curl.err");
        Process curl = new ProcessBuilder("curl", "-sS", "--fail", "--max-time", "120",
                "--cacert", certs.caFile().toString(), "--resolve", "app1.localhost:" + httpsPort + ":127.0.0.1",
                "-o", "-", url)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectError(stderr.toFile()).start();
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            long bytes = 0;
            try (InputStream in = curl.getInputStream()) {
                for (int n; (n = in.read(buffer)) > 0; bytes += n) {
                    digest.update(buffer, 0, n);
                }
            }
            if (!curl.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("curl did not exit after its output ended");
            }
            return new Download(curl.exitValue(), bytes, HexFormat.of().formatHex(digest.digest()),
                    Files.readString(stderr));
        } finally {
            curl.destroyForcibly();
        }
    }

    /** Writes {@code length} pseudo-random bytes from a fixed seed (xorshift64*, fast enough for a GiB). */
    private static String writeSeededFile(Path file, long length) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        long state = 0x2545F4914F6CDD1DL;
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long written = 0; written < length; written += chunk.capacity()) {
                chunk.clear();
                while (chunk.hasRemaining()) {
                    state ^= state >>> 12;
                    state ^= state << 25;
                    state ^= state >>> 27;
                    chunk.putLong(state * 0x2545F4914F6CDD1DL);
                }
                digest.update(chunk.array());
                out.write(chunk.array());
            }
        } catch (IOException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}

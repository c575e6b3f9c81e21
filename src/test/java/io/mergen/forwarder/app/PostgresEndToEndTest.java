package io.mergen.forwarder.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mergen.forwarder.tls.TestCertificates;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * psql 15 and hand-written protocol bytes against a real PostgreSQL server in a VM namespace, through the
 * forwarder's Postgres listener: SSLRequest answered with 'S', TLS terminated with SNI routing, the guest
 * spoken to in plain text, cancel requests, direct TLS with ALPN "postgresql", and clients without TLS told
 * why in a Postgres ErrorResponse.
 */
@Tag("e2e")
class PostgresEndToEndTest {
    private static final String GUEST_IP = "10.213.22.2";
    private static final String GUEST_RANGE = "10.213.22.0/24";
    private static final String REQUIRE = "sslmode=require";

    @TempDir
    static Path work;

    private static UnreachableRange route;
    private static TestCertificates.Issued certs;
    private static GuestVm app1;
    private static PostgresGuest postgres;
    private static TestForwarder forwarder;
    private static int port;
    private static Psql psql;

    @BeforeAll
    static void startVmAndForwarder() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "app1.localhost", "app9.localhost", "*.localhost");
        app1 = GuestVm.create(work, "app1", GUEST_IP);
        postgres = PostgresGuest.start(app1);
        app1.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");
        port = TestPorts.free();
        forwarder = TestForwarder.start(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=5432"));
        psql = new Psql(port);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        try {
            if (forwarder != null) {
                forwarder.close();
            }
        } finally {
            try {
                if (postgres != null) {
                    postgres.close();
                }
                if (app1 != null) {
                    app1.close();
                }
            } finally {
                if (route != null) {
                    route.close();
                }
            }
        }
    }

    @Test
    void guestServesInsideItsNamespaceOnly() {
        assertThat(postgres.query("select 1")).isEqualTo("1");
        Shell.Result direct = Shell.run(List.of("psql", "-X", "-w", "-Atc", "select 1",
                "host=" + GUEST_IP + " port=5432 user=postgres dbname=postgres connect_timeout=3 sslmode=disable"), 30);
        assertThat(direct.exitCode()).as("the host must not reach the guest address").isNotZero();
    }

    @Test
    void psqlWithSslModeRequireRunsAQuery() {
        Shell.Result result = psql.run("app1.localhost", REQUIRE, "-c", "select 1");
        assertThat(result.exitCode()).as(result.stderr()).isZero();
        assertThat(result.stdout().strip()).isEqualTo("1");
    }

    @Test
    void psqlWithVerifyFullTrustsTheCertificateWhileTheGuestSpeaksPlainText() {
        Shell.Result result = psql.run("app1.localhost",
                "sslmode=verify-full sslsni=1 sslrootcert=" + certs.caFile(),
                "-c", "\\conninfo", "-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()");
        assertThat(result.exitCode()).as(result.stderr()).isZero();
        assertThat(result.stdout()).as("psql's side is TLS").contains("SSL connection (protocol: TLSv1.");
        assertThat(result.stdout().strip()).as("the guest's side is plain text").endsWith("\nf");
    }

    @Test
    void tenThousandRowsAreInsertedAndCounted() {
        Shell.Result result = psql.run("app1.localhost", REQUIRE,
                "-c", "create table many_rows (i int)",
                "-c", "insert into many_rows select generate_series(1, 10000)",
                "-c", "select count(*), sum(i) from many_rows");
        assertThat(result.exitCode()).as(result.stderr()).isZero();
        assertThat(result.stdout().strip().lines()).containsExactly("CREATE TABLE", "INSERT 0 10000", "10000|50005000");
    }

    @Test
    void tenMebibyteTextValueRoundTrips() throws Exception {
        byte[] random = new byte[5 << 20];
        new Random(22).nextBytes(random);
        String value = HexFormat.of().formatHex(random);
        Path script = work.resolve("big-value.sql");
        Files.writeString(script, "create table big_value (v text);\ninsert into big_value values ('" + value + "');\n");

        Shell.Result insert = psql.run("app1.localhost", REQUIRE, "-q", "-f", script.toString());
        assertThat(insert.exitCode()).as(insert.stderr()).isZero();
        Shell.Result digest = psql.run("app1.localhost", REQUIRE, "-c", "select md5(v), length(v) from big_value");
        assertThat(digest.stdout().strip()).as(digest.stderr()).isEqualTo(md5(value) + "|" + value.length());

        Shell.Result fetch = psql.run("app1.localhost", REQUIRE, "-c", "select v from big_value");
        assertThat(fetch.exitCode()).as(fetch.stderr()).isZero();
        String fetched = fetch.stdout().strip();
        assertThat(fetched.length()).isEqualTo(value.length());
        assertThat(md5(fetched)).isEqualTo(md5(value));
    }

    @Test
    void unknownVmIsNamedInPsqlsError() {
        Shell.Result result = psql.run("app9.localhost", REQUIRE, "-c", "select 1");
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.stderr()).contains("no VM named app9 on this host");
    }

    @Test
    void psqlWithoutTlsIsToldThatTlsWithSniIsRequired() {
        Shell.Result result = psql.run("app1.localhost", "sslmode=disable", "-c", "select 1");
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.stderr()).contains("FATAL", "TLS", "SNI");
    }

    @Test
    void sigintCancelsARunningQuery() throws Exception {
        Path out = work.resolve("cancel.out");
        Path err = work.resolve("cancel.err");
        Process sleeper = psql.start("app1.localhost", REQUIRE, out, err, "-c", "select pg_sleep(30)");
        try {
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                    .until(() -> !sleeper.isAlive() || postgres.activeStatements("pg_sleep(30)") == 1);
            assertThat(sleeper.isAlive()).as("psql ended before its query ran: %s", read(err)).isTrue();

            // psql answers SIGINT with a CancelRequest on a new connection: clear text, no SNI.
            Shell.run("kill", "-INT", String.valueOf(sleeper.pid())).orThrow();

            assertThat(sleeper.waitFor(5, TimeUnit.SECONDS)).as("psql still runs 5 s after SIGINT").isTrue();
            assertThat(sleeper.exitValue()).isNotZero();
            assertThat(read(err)).contains("canceling statement due to user request");
            await().atMost(Duration.ofSeconds(5)).until(() -> postgres.activeStatements("pg_sleep(30)") == 0);
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void directTlsNegotiatesAlpnPostgresqlWithOpenssl() {
        Shell.Result result = Shell.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "app1.localhost", "-alpn", "postgresql",
                "-CAfile", certs.caFile().toString(), "-verify_return_error"), 30);
        assertThat(result.stdout()).as(result.stderr()).contains("ALPN protocol: postgresql");
        assertThat(result.stdout()).contains("Verify return code: 0 (ok)");
    }

    @Test
    void directTlsCarriesAStartupMessageAndAQuery() throws Exception {
        SSLSocket socket = (SSLSocket) TestCertificates.trustingClient(certs.caFile()).getSocketFactory()
                .createSocket("127.0.0.1", port);
        try (socket) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("app1.localhost")));
            parameters.setApplicationProtocols(new String[] {"postgresql"});
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            assertThat(socket.getApplicationProtocol()).isEqualTo("postgresql");

            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(PostgresWire.startupMessage("postgres", "postgres"));
            out.flush();
            PostgresWire.Message authentication = PostgresWire.read(in);
            assertThat(authentication.type()).as(authentication.bodyText()).isEqualTo('R');
            assertThat(authentication.body()).as("AuthenticationOk").containsExactly(0, 0, 0, 0);
            PostgresWire.readUntil(in, 'Z');

            out.write(PostgresWire.query("select 'direct ' || host(inet_server_addr())"));
            out.flush();
            PostgresWire.Message row = PostgresWire.readUntil(in, 'D');
            assertThat(PostgresWire.dataRow(row.body())).containsExactly("direct " + GUEST_IP);
            PostgresWire.readUntil(in, 'Z');
            out.write(PostgresWire.terminate());
            out.flush();
        }
    }

    @Test
    void sslRequestIsAnsweredWithS() throws Exception {
        try (Socket socket = plainSocket()) {
            socket.getOutputStream().write(PostgresWire.sslRequest());
            assertThat(socket.getInputStream().read()).as("answer to SSLRequest").isEqualTo('S');
        }
    }

    @Test
    void startupMessageWithoutTlsGetsAFatalErrorResponse() throws Exception {
        try (Socket socket = plainSocket()) {
            socket.getOutputStream().write(PostgresWire.startupMessage("postgres", "postgres"));
            InputStream in = socket.getInputStream();
            PostgresWire.Message error = PostgresWire.read(in);
            assertThat(error.type()).as(error.bodyText()).isEqualTo('E');
            Map<Character, String> fields = PostgresWire.fields(error.body());
            assertThat(fields).containsEntry('S', "FATAL");
            assertThat(fields.get('C')).as("SQLSTATE").matches("[0-9A-Z]{5}");
            assertThat(fields.get('M')).contains("TLS", "SNI");
            assertThat(in.read()).as("the forwarder closes after the error").isEqualTo(-1);
        }
    }

    private static Socket plainSocket() throws Exception {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(10_000);
        return socket;
    }

    private static String md5(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static String read(Path file) throws Exception {
        return Files.exists(file) ? Files.readString(file) : "";
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real redis-cli over TLS through the forwarder's Redis listener to Debian's redis-server in a VM namespace:
 * commands and a 10 MiB value go through unchanged, and a name the forwarder cannot route gets a Redis error.
 */
@Tag("e2e")
class RedisEndToEndTest {
    private static final String GUEST_IP = "10.213.20.2";
    private static final String GUEST_RANGE = "10.213.20.0/24";
    private static final int BIG_VALUE_MIB = 10;

    @TempDir
    static Path work;

    private static TestForwarder forwarder;
    private static GuestVm app1;
    private static UnreachableRange route;
    private static RedisCli redis;

    @BeforeAll
    static void startRedisAndForwarder() throws Exception {
        RootRequired.check();
        GuestPackages.require(RedisGuest.REDIS_SERVER, "redis-server");
        GuestPackages.require(RedisCli.REDIS_CLI, "redis-tools");
        route = UnreachableRange.add(GUEST_RANGE);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        TestCertificates.Issued certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "app1.localhost", "app9.localhost");

        app1 = GuestVm.create(work, "app1", GUEST_IP);
        RedisGuest.start(app1);
        app1.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"app1\"}");

        int port = TestPorts.free();
        forwarder = TestForwarder.start(configRoot, certs, Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=6379"));
        redis = new RedisCli(certs.caFile(), port);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (forwarder != null) {
            forwarder.close();
        }
        if (app1 != null) {
            app1.close();
        }
        if (route != null) {
            route.close();
        }
    }

    @Test
    void pingGetsPong() {
        RedisCli.Result result = redis.run("app1.localhost", "PING");

        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).isEqualTo("PONG\n");
    }

    @Test
    void setThenGetReturnsTheValueStoredInTheVmsRedis() {
        assertThat(redis.run("app1.localhost", "SET", "greeting", "hello from the host").output()).isEqualTo("OK\n");

        assertThat(redis.run("app1.localhost", "GET", "greeting").output()).isEqualTo("hello from the host\n");
        // Asked directly inside the namespace, the VM's own redis holds it: the forwarder did not answer by itself.
        assertThat(app1.exec("redis-cli", "-h", GUEST_IP, "GET", "greeting").stdout())
                .isEqualTo("hello from the host\n");
    }

    @Test
    void tenMebibyteValueGoesInAndComesBackByteExact() throws Exception {
        Path value = work.resolve("value.bin");
        String sha256 = ForwarderEndToEndTest.writeRandomFile(value, BIG_VALUE_MIB);
        Path readBack = work.resolve("read-back.bin");

        RedisCli.Result set = redis.run("app1.localhost", value, null, "-x", "SET", "big");
        RedisCli.Result length = redis.run("app1.localhost", "STRLEN", "big");
        RedisCli.Result get = redis.run("app1.localhost", null, readBack, "--raw", "GET", "big");

        assertThat(set.output()).isEqualTo("OK\n");
        assertThat(length.output()).isEqualTo((BIG_VALUE_MIB << 20) + "\n");
        assertThat(get.exitCode()).as(get.output()).isZero();
        // --raw prints the value's bytes as they are, then one newline.
        assertThat(Files.size(readBack)).isEqualTo(((long) BIG_VALUE_MIB << 20) + 1);
        assertThat(sha256OfPrefix(readBack, (long) BIG_VALUE_MIB << 20)).isEqualTo(sha256);
        Files.delete(value);
        Files.delete(readBack);
    }

    private static String sha256OfPrefix(Path file, long length) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 16];
        long left = length;
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) > 0; left -= n) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * Errors a Redis client must see as Redis errors (RESP {@code -ERR ...}) rather than as a failed TLS handshake.
     */
    @Nested
    class ProtocolErrors {
        @Test
        void unknownVmGetsARedisErrorNamingIt() {
            RedisCli.Result result = redis.run("app9.localhost", "PING");

            assertThat(result.output()).contains("ERR no VM named app9 on this host");
        }

        @Test
        void missingSniGetsARedisErrorMentioningSni() {
            RedisCli.Result result = redis.run(null, "PING");

            assertThat(result.output()).contains("ERR").contains("SNI");
        }
    }
}

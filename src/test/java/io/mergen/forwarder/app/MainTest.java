package io.mergen.forwarder.app;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Configuration mistakes end the process with exit code 2 and one line naming the variable and value. */
class MainTest {
    @TempDir
    Path work;

    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private PrintStream originalErr;

    @BeforeEach
    void captureStderr() {
        originalErr = System.err;
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreStderrAndLogging() throws Exception {
        System.setErr(originalErr);
        // Main.run reconfigured Logback for the whole JVM; give the other test classes logback-test.xml back.
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.reset();
        new ContextInitializer(context).autoConfig();
    }

    @Test
    void badListenerExitsTwoWithOneLine() {
        assertThat(Main.run(Map.of("FWD_LISTENERS", ":443=80"))).isEqualTo(Main.EXIT_CONFIG);
        assertThat(stderr.toString(StandardCharsets.UTF_8)).isEqualTo(
                "mergen-forwarder: FWD_LISTENERS=\":443=80\": guest port 80 is not in FWD_ALLOWED_GUEST_PORTS"
                        + " (22,443,5432,6379,9092)" + System.lineSeparator());
    }

    @Test
    void missingCertificateExitsTwoNamingTheVariable() {
        Path missing = work.resolve("nope.crt");
        int code = Main.run(Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + TestPorts.free() + "=443",
                "FWD_CONFIG_ROOT", work.toString(),
                "FWD_TLS_CERT_FILE", missing.toString(),
                "FWD_TLS_KEY_FILE", work.resolve("nope.key").toString(),
                "FWD_ADMIN_ADDR", ""));
        assertThat(code).isEqualTo(Main.EXIT_CONFIG);
        String out = stderr.toString(StandardCharsets.UTF_8);
        assertThat(out.lines()).hasSize(1);
        assertThat(out).startsWith("mergen-forwarder: FWD_TLS_CERT_FILE=\"" + missing + "\": ");
    }

    @Test
    void rawOnlyListenersNeedNoCertificate() throws Exception {
        // A listener that cannot bind proves we got past the certificate step: exit 1, not 2.
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Files.createDirectories(work.resolve("vm.d"));
            int code = Main.run(Map.of(
                    "FWD_LISTENERS", "127.0.0.1:" + taken.getLocalPort() + "=22",
                    "FWD_CONFIG_ROOT", work.resolve("vm.d").toString(),
                    "FWD_ADMIN_ADDR", "",
                    "FWD_LOG_LEVEL", "error"));
            assertThat(code).isEqualTo(Main.EXIT_FAILURE);
        }
    }
}

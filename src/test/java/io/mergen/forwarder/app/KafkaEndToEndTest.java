package io.mergen.forwarder.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.mergen.forwarder.tls.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Kafka broker in a VM namespace, advertising the forwarder's name and port, and Kafka's own console
 * clients producing and consuming through the forwarder over TLS. The broker listens only inside the
 * namespace, so every request, the metadata and group-coordinator lookups included, goes through the forwarder.
 */
@Tag("e2e")
class KafkaEndToEndTest {
    private static final String GUEST_IP = "10.213.21.2";
    private static final String GUEST_RANGE = "10.213.21.0/24";
    private static final String HOST = "kafka1.localhost";
    private static final int MESSAGES = 1_000;

    @TempDir
    static Path work;

    private static final List<AutoCloseable> cleanups = new ArrayList<>();
    private static KafkaBroker broker;
    private static KafkaConsoleClient client;

    @BeforeAll
    static void startBrokerBehindForwarder() throws Exception {
        RootRequired.check();
        // Before anything is created: the first run downloads Kafka, and a failure there leaves nothing behind.
        String classpath = KafkaBroker.classpath();
        Shell.run("ip", "route", "add", "unreachable", GUEST_RANGE).orThrow();
        cleanups.add(() -> Shell.quietly("ip", "route", "del", "unreachable", GUEST_RANGE));

        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        TestCertificates.Issued certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")), HOST);
        GuestVm vm = GuestVm.create(work, "kafka1", GUEST_IP);
        cleanups.add(vm);
        vm.writeMeta(configRoot, "2026-01-01T00:00:00Z", "\"tags\": {\"app\": \"kafka1\"}");

        // The broker advertises this port, so it is chosen (and bound by the forwarder) before the broker starts.
        int port = TestPorts.free();
        cleanups.add(TestForwarder.start(configRoot, certs,
                Map.of("FWD_LISTENERS", "127.0.0.1:" + port + "=" + KafkaBroker.GUEST_PORT)));
        broker = KafkaBroker.start(vm, classpath, HOST, port);
        client = new KafkaConsoleClient(classpath, work.resolve("client"), certs.caFile(), HOST, port);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        // Reverse order: forwarder, then the VM with the broker, then the route.
        for (AutoCloseable cleanup : cleanups.reversed()) {
            cleanup.close();
        }
        cleanups.clear();
    }

    @Test
    void thousandMessagesGoThroughTheForwarderAndComeBackInOrder() throws Exception {
        List<String> sent = messages(MESSAGES);
        Path input = work.resolve("messages.txt");
        Files.write(input, sent);

        Shell.Result produced = client.produce("e2e-messages", input);
        // A failed send does not change the console producer's exit code (and its error log may be cut off at exit):
        // these checks catch a broken start, the consumer below is what proves delivery.
        assertThat(produced.exitCode()).as("producer stderr:\n%s\nbroker:\n%s", produced.stderr(), broker.logTail())
                .isZero();
        assertThat(produced.stderr()).as("producer stderr").doesNotContain("ERROR");

        Shell.Result consumed = client.consume("e2e-messages", MESSAGES);
        List<String> received = consumed.stdout().lines().toList();
        assertThat(consumed.exitCode()).as("consumer stderr:\n%s", consumed.stderr()).isZero();
        assertThat(received).as("messages received; consumer stderr:\n%s", consumed.stderr()).hasSize(MESSAGES);
        assertThat(received).isEqualTo(sent);
        assertThat(consumed.stderr()).contains("Processed a total of " + MESSAGES + " messages");
    }

    /** Distinct lines of 1 to about 2,000 characters, so records span several sizes and batches. */
    private static List<String> messages(int count) {
        Random random = new Random(7);
        return IntStream.range(0, count).mapToObj(i -> {
            StringBuilder line = new StringBuilder("message-%04d-".formatted(i));
            int length = 1 + random.nextInt(2_000);
            for (int c = 0; c < length; c++) {
                line.append((char) ('a' + random.nextInt(26)));
            }
            return line.toString();
        }).toList();
    }
}

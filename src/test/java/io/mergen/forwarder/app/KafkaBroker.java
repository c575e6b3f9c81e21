package io.mergen.forwarder.app;

import static java.util.Objects.requireNonNull;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Starts a real Apache Kafka broker (KRaft, broker and controller in one JVM) inside a {@link GuestVm}'s
 * namespace, serving plain TCP on guest port 9092 and advertising the forwarder's name and port to clients.
 *
 * <p>Kafka comes from Maven Central through {@code e2e/kafka-broker/pom.xml}, apart from the forwarder's own
 * classpath; {@link #classpath()} reads what {@code scripts/kafka-classpath.sh} resolved, and runs the script
 * when that is missing or stale.
 */
final class KafkaBroker {
    static final int GUEST_PORT = 9092;
    private static final int CONTROLLER_PORT = 9093;
    private static final int INTERNAL_PORT = 9094;
    /** Base64url of the 16 bytes "mergen-forwarder": any fixed id will do for a one-node cluster. */
    private static final String CLUSTER_ID = "bWVyZ2VuLWZvcndhcmRlcg";
    private static final Path CLASSPATH_FILE = Path.of("target", "kafka-broker.classpath");
    private static final Path POM = Path.of("e2e", "kafka-broker", "pom.xml");
    private static final Path SCRIPT = Path.of("scripts", "kafka-classpath.sh");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final Process process;
    private final Path log;

    private KafkaBroker(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * The broker's and console clients' classpath, relative to the project root (surefire's working
     * directory); resolved anew when the file is missing, older than the pom, or names a jar that is gone.
     */
    static String classpath() {
        try {
            if (stale()) {
                // The first run downloads Kafka from Maven Central: give it time.
                Shell.run(List.of("bash", SCRIPT.toString()), 600).orThrow();
            }
            String classpath = Files.readString(CLASSPATH_FILE).strip();
            if (classpath.isEmpty()) {
                throw new IllegalStateException(CLASSPATH_FILE + " is empty (run " + SCRIPT + ")");
            }
            return classpath;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean stale() throws IOException {
        if (!Files.exists(CLASSPATH_FILE)
                || Files.getLastModifiedTime(CLASSPATH_FILE).compareTo(Files.getLastModifiedTime(POM)) < 0) {
            return true;
        }
        String classpath = Files.readString(CLASSPATH_FILE).strip();
        return classpath.isEmpty() || Arrays.stream(classpath.split(":")).anyMatch(jar -> !Files.isRegularFile(Path.of(jar)));
    }

    /** The JDK running the tests: Kafka and its clients run on it too. */
    static String java() {
        return ProcessHandle.current().info().command()
                .orElseThrow(() -> new IllegalStateException("cannot tell which java runs this JVM"));
    }

    /**
     * Formats the broker's storage in {@code vm}'s folder, starts it inside the namespace, and returns once
     * it logged that it started; it advertises {@code advertisedHost:advertisedPort} on its client listener.
     * The VM owns the process: {@link GuestVm#close()} stops it.
     */
    static KafkaBroker start(GuestVm vm, String classpath, String advertisedHost, int advertisedPort) {
        requireNonNull(vm, "vm");
        requireNonNull(classpath, "classpath");
        requireNonNull(advertisedHost, "advertisedHost");
        Path config = vm.dir().resolve("server.properties");
        Path logConfig = vm.dir().resolve("log4j2.properties");
        String ip = vm.guestIp();
        write(config, """
                process.roles=broker,controller
                node.id=1
                controller.quorum.voters=1@%1$s:%2$d
                controller.listener.names=CONTROLLER
                # Clients get the forwarder's name and port; the broker talks to itself on INTERNAL, inside the VM.
                listeners=PLAINTEXT://%1$s:%3$d,INTERNAL://%1$s:%4$d,CONTROLLER://%1$s:%2$d
                advertised.listeners=PLAINTEXT://%5$s:%6$d,INTERNAL://%1$s:%4$d
                listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
                inter.broker.listener.name=INTERNAL
                log.dirs=%7$s
                num.partitions=1
                offsets.topic.replication.factor=1
                transaction.state.log.replication.factor=1
                transaction.state.log.min.isr=1
                group.initial.rebalance.delay.ms=0
                """.formatted(ip, CONTROLLER_PORT, GUEST_PORT, INTERNAL_PORT, advertisedHost, advertisedPort,
                vm.dir().resolve("kafka-data")));
        write(logConfig, log4jConfig("INFO", "SYSTEM_OUT"));
        String log4j = "-Dlog4j2.configurationFile=" + logConfig;
        vm.exec(java(), "-Xmx256m", "-cp", classpath, log4j, "kafka.tools.StorageTool",
                "format", "-t", CLUSTER_ID, "-c", config.toString()).orThrow();

        Process process = vm.spawn("kafka.log", java(), "-Xms512m", "-Xmx512m", "-cp", classpath, log4j,
                "kafka.Kafka", config.toString());
        KafkaBroker broker = new KafkaBroker(process, vm.dir().resolve("kafka.log"));
        broker.awaitStarted();
        return broker;
    }

    private void awaitStarted() {
        await("Kafka broker start (log: " + log + ")").atMost(START_TIMEOUT).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    String text = Files.exists(log) ? Files.readString(log) : "";
                    if (!process.isAlive()) {
                        throw new IllegalStateException("Kafka broker exited with " + process.exitValue() + ":\n"
                                + tail(text));
                    }
                    return text.contains("Kafka Server started");
                });
    }

    /** The broker's output so far, for a failure message. */
    String logTail() {
        try {
            return tail(Files.readString(log));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** A log4j2 configuration: everything at {@code level} and above to {@code target} (SYSTEM_OUT or SYSTEM_ERR). */
    static String log4jConfig(String level, String target) {
        return """
                status = error
                appender.console.type = Console
                appender.console.name = console
                appender.console.target = %s
                appender.console.layout.type = PatternLayout
                appender.console.layout.pattern = [%%d] %%p %%m (%%c)%%n
                rootLogger.level = %s
                rootLogger.appenderRef.console.ref = console
                """.formatted(target, level);
    }

    static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String tail(String text) {
        return text.length() <= 4000 ? text : text.substring(text.length() - 4000);
    }
}

package io.mergen.forwarder.app;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs Kafka's own console producer and consumer as separate JVMs on the host, speaking TLS to
 * {@code host:port} with the test CA trusted and the host name checked, as a user's client would.
 *
 * <p>The clients resolve {@code host} to 127.0.0.1 through a JDK hosts file ({@code jdk.net.hosts.file}),
 * so /etc/hosts stays untouched and no DNS is asked; the JDK sends the name as SNI.
 */
final class KafkaConsoleClient {
    private static final int TIMEOUT_SECONDS = 90;

    private final String classpath;
    private final Path dir;
    private final String bootstrap;
    private final Path clientConfig;
    private final Path hostsFile;
    private final Path logConfig;

    /** Writes the client configuration files into {@code dir}. */
    KafkaConsoleClient(String classpath, Path dir, Path caFile, String host, int port) {
        this.classpath = requireNonNull(classpath, "classpath");
        this.dir = requireNonNull(dir, "dir");
        requireNonNull(caFile, "caFile");
        requireNonNull(host, "host");
        this.bootstrap = host + ":" + port;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        clientConfig = dir.resolve("client.properties");
        hostsFile = dir.resolve("hosts");
        logConfig = dir.resolve("log4j2.properties");
        // ssl.endpoint.identification.algorithm keeps its default (https): the certificate must name the host.
        KafkaBroker.write(clientConfig, """
                security.protocol=SSL
                ssl.truststore.type=PEM
                ssl.truststore.location=%s
                """.formatted(caFile));
        KafkaBroker.write(hostsFile, "127.0.0.1 " + host + "\n");
        KafkaBroker.write(logConfig, KafkaBroker.log4jConfig("WARN", "SYSTEM_ERR"));
    }

    /** Sends every line of {@code input} as one message to {@code topic}, waiting for each batch's acks. */
    Shell.Result produce(String topic, Path input) {
        return run("producer", input, "org.apache.kafka.tools.ConsoleProducer",
                "--bootstrap-server", bootstrap, "--topic", topic, "--producer.config", clientConfig.toString(),
                // A broken path fails within the process timeout instead of retrying for Kafka's default two minutes.
                "--producer-property", "max.block.ms=30000", "--producer-property", "delivery.timeout.ms=30000");
    }

    /** Reads {@code count} messages of {@code topic} from its start, one per output line, in a new consumer group. */
    Shell.Result consume(String topic, int count) {
        return run("consumer", null, "org.apache.kafka.tools.consumer.ConsoleConsumer",
                "--bootstrap-server", bootstrap, "--topic", topic, "--from-beginning",
                "--max-messages", Integer.toString(count), "--timeout-ms", "30000",
                "--consumer.config", clientConfig.toString());
    }

    private Shell.Result run(String name, Path input, String mainClass, String... args) {
        List<String> command = new ArrayList<>(List.of(KafkaBroker.java(), "-Xmx256m",
                "-Djdk.net.hosts.file=" + hostsFile, "-Dlog4j2.configurationFile=" + logConfig,
                "-cp", classpath, mainClass));
        command.addAll(List.of(args));
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(input == null ? ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())
                        : ProcessBuilder.Redirect.from(input.toFile()));
        Process process = null;
        try {
            process = builder.start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("Kafka console " + name + " did not finish within "
                        + TIMEOUT_SECONDS + " s; stderr:\n" + Files.readString(err, StandardCharsets.UTF_8));
            }
            return new Shell.Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            if (process != null && process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }
}

package io.mergen.forwarder.app;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * redis-cli from redis-tools speaking TLS to a forwarder port on 127.0.0.1, trusting the test CA; the SNI name is
 * chosen per call, since redis-cli sends none unless told.
 */
final class RedisCli {
    static final String REDIS_CLI = "/usr/bin/redis-cli";
    private static final int TIMEOUT_SECONDS = 60;

    /** What redis-cli printed; {@code output} is stdout and stderr together, as a user sees them. */
    record Result(int exitCode, String output) {
    }

    private final Path caFile;
    private final int port;

    RedisCli(Path caFile, int port) {
        this.caFile = caFile;
        this.port = port;
    }

    /** Runs one command with {@code serverName} as SNI, or without SNI when it is null. */
    Result run(String serverName, String... args) {
        return run(serverName, null, null, args);
    }

    /**
     * Runs one command; {@code stdin} feeds {@code -x} (the last argument read from standard input), and when
     * {@code stdout} is given the reply goes there as bytes, with only stderr in the result's output.
     */
    Result run(String serverName, Path stdin, Path stdout, String... args) {
        List<String> command = new ArrayList<>(List.of(REDIS_CLI, "-h", "127.0.0.1", "-p", Integer.toString(port),
                "--tls", "--cacert", caFile.toString()));
        if (serverName != null) {
            command.addAll(List.of("--sni", serverName));
        }
        command.addAll(List.of(args));
        Path output = null;
        try {
            output = Files.createTempFile("redis-cli", ".out");
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null"))
                            : ProcessBuilder.Redirect.from(stdin.toFile()));
            if (stdout == null) {
                builder.redirectErrorStream(true).redirectOutput(output.toFile());
            } else {
                builder.redirectOutput(stdout.toFile()).redirectError(output.toFile());
            }
            Process process = builder.start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + command);
            }
            return new Result(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            if (output != null) {
                output.toFile().delete();
            }
        }
    }
}

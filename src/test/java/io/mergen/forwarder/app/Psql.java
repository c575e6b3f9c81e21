package io.mergen.forwarder.app;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * psql on the host pointed at the forwarder's Postgres listener: {@code host} names the VM (libpq sends it as
 * SNI) while {@code hostaddr=127.0.0.1} pins the address, so no name is ever looked up.
 */
final class Psql {
    private final int port;

    Psql(int port) {
        this.port = port;
    }

    /** A libpq connection string for {@code host} on the listener, followed by {@code options} ("sslmode=require"). */
    String conninfo(String host, String options) {
        return "host=" + host + " hostaddr=127.0.0.1 port=" + port
                + " user=postgres dbname=postgres connect_timeout=10 " + options;
    }

    /** Runs psql (no psqlrc, never a password prompt, unaligned, tuples only) and waits up to a minute. */
    Shell.Result run(String host, String options, String... args) {
        return Shell.run(command(host, options, args), 60);
    }

    /** Starts psql without waiting, its output in files: for a statement the test interrupts. */
    Process start(String host, String options, Path stdout, Path stderr, String... args) {
        try {
            return new ProcessBuilder(command(host, options, args))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<String> command(String host, String options, String... args) {
        List<String> command = new ArrayList<>(List.of("psql", "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-d", conninfo(host, options)));
        command.addAll(List.of(args));
        return command;
    }
}

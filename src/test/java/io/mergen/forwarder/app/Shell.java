package io.mergen.forwarder.app;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command for a test and returns its exit code and output; a command that hangs is killed. */
final class Shell {
    record Result(int exitCode, String stdout, String stderr) {
        Result orThrow() {
            if (exitCode != 0) {
                throw new IllegalStateException("exit " + exitCode + ": " + stderr.strip() + " " + stdout.strip());
            }
            return this;
        }
    }

    private Shell() {
    }

    static Result run(String... command) {
        return run(List.of(command), 120);
    }

    static Result run(List<String> command, int timeoutSeconds) {
        Path out = null;
        Path err = null;
        try {
            // Files, not pipes: a chatty command cannot block on a full pipe while we wait for it.
            out = Files.createTempFile("shell", ".out");
            err = Files.createTempFile("shell", ".err");
            Process process = new ProcessBuilder(new ArrayList<>(command))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + command);
            }
            return new Result(process.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            file.toFile().delete();
        }
    }

    /** Runs and ignores failure: for cleanup, where the thing may already be gone. */
    static void quietly(String... command) {
        try {
            run(command);
        } catch (RuntimeException ignored) {
            // already gone is fine during cleanup
        }
    }
}

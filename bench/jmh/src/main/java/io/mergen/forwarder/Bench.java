package io.mergen.forwarder;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/** What the benchmarks' set-up shares: quiet logs, meta.json files, commands, held buffers, removing a folder. */
public final class Bench {
    private static final long COMMAND_TIMEOUT_SECONDS = 30;

    private Bench() {}

    /** Keeps the forwarder's info lines (a reload of 10,000 VMs names them all) out of JMH's output. */
    public static void quietLogs() {
        ((Logger) LoggerFactory.getLogger("io.mergen.forwarder")).setLevel(Level.WARN);
        ((Logger) LoggerFactory.getLogger("mergen")).setLevel(Level.WARN);
    }

    /**
     * A direct buffer holding {@code bytes} for the whole trial, handed out as retained duplicates. Wrapped, not
     * allocated through Netty: an allocator may pick it for leak tracking (one buffer in 128), and then every
     * duplicate would carry tracking records, which changed a run's bytes per operation tenfold.
     */
    public static ByteBuf heldBuffer(byte[] bytes) {
        return Unpooled.wrappedBuffer(ByteBuffer.allocateDirect(bytes.length).put(bytes).flip());
    }

    /** A VM id whose first 8 characters (its id-prefix alias) differ for every {@code n}. */
    public static String vmId(int n) {
        // An odd multiplier is a bijection modulo 2^32, so the prefixes never collide.
        return String.format("%08x-0000-4000-8000-%012x", (n * 2654435761L) & 0xffffffffL, n);
    }

    /** Writes {@code <root>/<id>/meta.json} for VM {@code id} with {@code tags.app = app}. */
    public static void writeMeta(Path root, String id, String app, String guestIp, String netns) {
        try {
            Path dir = Files.createDirectories(root.resolve(id));
            Files.writeString(dir.resolve("meta.json"), """
                    {"id": "%s", "guestIP": "%s", "netns": "%s", "createdAt": "2026-01-01T00:00:00Z",
                     "tags": {"app": "%s"}}
                    """.formatted(id, guestIp, netns, app));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a command, failing with its output when it exits non-zero or takes over 30 s. */
    public static String run(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + ": still running after 30 s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + ": exit " + process.exitValue() + ": "
                        + output.strip());
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Deletes {@code dir} and everything in it; a missing folder is fine. */
    public static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            List<Path> all = files.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.mergen.forwarder.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What this JVM holds that a leaking forwarder would grow: open file descriptors by kind (from
 * {@code /proc/self/fd}), live platform threads, and the heap left after a full GC.
 */
final class ProcessResources {
    private static final Path FDS = Path.of("/proc/self/fd");

    private ProcessResources() {
    }

    /** Open descriptors grouped by what they point to: {@code socket}, {@code net} (namespace), {@code pipe}, {@code file}... */
    record Fds(int total, Map<String, Integer> byKind) {
        int of(String kind) {
            return byKind.getOrDefault(kind, 0);
        }

        @Override
        public String toString() {
            return total + " " + byKind;
        }
    }

    /** Descriptors, live threads and heap after GC at one moment. */
    record Snapshot(Fds fds, int threads, long heap) {
        static Snapshot take() {
            return new Snapshot(ProcessResources.fds(), ProcessResources.threads(), heapAfterGc());
        }

        @Override
        public String toString() {
            return "fds " + fds + ", threads " + threads + ", heap after GC " + mib(heap);
        }
    }

    static Fds fds() {
        List<Path> entries;
        try (Stream<Path> listing = Files.list(FDS)) {
            entries = listing.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Integer> byKind = new TreeMap<>();
        int total = 0;
        for (Path entry : entries) {
            String target;
            try {
                target = Files.readSymbolicLink(entry).toString();
            } catch (NoSuchFileException closedMeanwhile) {
                continue; // the listing's own descriptor, or one closed since the listing
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            total++;
            byKind.merge(kindOf(target), 1, Integer::sum);
        }
        return new Fds(total, byKind);
    }

    /** {@code socket:[123]} -> socket, {@code net:[4026532]} -> net, {@code anon_inode:[eventfd]} -> eventfd, a path -> file. */
    private static String kindOf(String target) {
        if (target.startsWith("anon_inode:")) {
            return target.substring("anon_inode:".length()).replace("[", "").replace("]", "");
        }
        int bracket = target.indexOf(":[");
        return bracket > 0 ? target.substring(0, bracket) : "file";
    }

    /**
     * Live platform threads, except the JDK's "process reaper" threads: those wait for the {@code ip} and
     * {@code nginx} commands the tests run and idle on for a minute afterwards, they are the test's, not the
     * forwarder's.
     */
    static int threads() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> !thread.getName().startsWith("process reaper")).count();
    }

    /** Heap in use right after a full collection (System.gc() is a full GC with G1 unless disabled). */
    static long heapAfterGc() {
        System.gc();
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}

package io.mergen.forwarder.app;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Gate for tests that create network namespaces: they skip with a message on a machine without root,
 * and fail under {@code CI=true}, where a skip would hide that they never ran.
 */
final class RootRequired {
    private RootRequired() {
    }

    static void check() {
        String why = missing();
        if (why == null) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError("end-to-end tests need " + why + ", and CI=true forbids skipping them");
        }
        Assumptions.abort("skipped: end-to-end tests need " + why);
    }

    private static String missing() {
        if (!"Linux".equals(System.getProperty("os.name"))) {
            return "Linux network namespaces";
        }
        try {
            String status = Files.readString(Path.of("/proc/self/status"));
            boolean root = status.lines().anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[2].equals("0"));
            if (!root) {
                return "root (they create network namespaces)";
            }
        } catch (IOException e) {
            return "/proc/self/status (" + e.getMessage() + ")";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/nginx"))) {
            return "nginx (run ./run-tests as root to install it)";
        }
        return null;
    }
}

package io.mergen.forwarder.app;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Gate for end-to-end tests that need a server or client program from a Debian package: they skip with the
 * package to install, and fail under {@code CI=true}, where a skip would hide that they never ran.
 */
final class GuestPackages {
    private GuestPackages() {
    }

    /** Checks that {@code executable} exists, naming {@code debianPackage} when it does not. */
    static void require(String executable, String debianPackage) {
        if (Files.isExecutable(Path.of(executable))) {
            return;
        }
        String why = executable + " (apt-get install " + debianPackage + ")";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError("end-to-end tests need " + why + ", and CI=true forbids skipping them");
        }
        Assumptions.abort("skipped: end-to-end tests need " + why);
    }
}

package io.mergen.forwarder.app;

import java.time.Duration;

/**
 * Sizes the soak tests: a short CI mode by default, the full size with {@code -Dsoak.full=true}.
 *
 * <p>Full size, every soak test (as root; Maven passes {@code -D} properties on to the test JVM):
 * <pre>{@code ./run-tests -Dtest='*SoakTest' -Dsoak.full=true}</pre>
 * or, for one class without the package installation step of run-tests:
 * <pre>{@code JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B -o test -Dtest=SlowReaderSoakTest -Dsoak.full=true}</pre>
 */
final class Soak {
    static final String FULL_PROPERTY = "soak.full";

    private Soak() {
    }

    static boolean full() {
        return Boolean.getBoolean(FULL_PROPERTY);
    }

    static int size(int ci, int full) {
        return full() ? full : ci;
    }

    static long size(long ci, long full) {
        return full() ? full : ci;
    }

    static Duration duration(Duration ci, Duration full) {
        return full() ? full : ci;
    }

    static String mode() {
        return full() ? "full" : "ci";
    }
}

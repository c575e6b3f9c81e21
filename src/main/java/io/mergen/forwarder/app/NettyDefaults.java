package io.mergen.forwarder.app;

/**
 * Netty settings for a production run, applied before any Netty class reads them; a {@code -D} given on the
 * command line (FWD_JAVA_OPTS) still wins.
 */
final class NettyDefaults {
    private NettyDefaults() {
    }

    static void apply() {
        // Leak detection samples buffers and the TLS engines and records a stack trace for each sample: about 1%
        // of the CPU of a full handshake in the profile of bench/run. It is a debugging aid; the tests keep it on.
        setIfAbsent("io.netty.leakDetection.level", "disabled");
        // Netty's pooled allocator registers its JFR events when its first chunk is made: that initialises the
        // JDK's whole JFR metadata, ~90 ms of the TLS start-up path, for events only a recording would use.
        setIfAbsent("io.netty.jfr.enabled", "false");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}

package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;

/**
 * Adds {@code ip route add unreachable <range>} on the host and deletes it on close, so a test's guest addresses
 * can never leak to the real network and a dial that misses the namespace fails at once.
 */
public final class UnreachableRoute implements AutoCloseable {
    private final String range;

    private UnreachableRoute(String range) {
        this.range = range;
    }

    /** Fails if the route exists already (e.g. left over from a killed run: {@code ip route del unreachable R}). */
    public static UnreachableRoute add(String range) {
        requireNonNull(range, "range");
        TestNamespace.run("ip", "route", "add", "unreachable", range);
        return new UnreachableRoute(range);
    }

    public String range() {
        return range;
    }

    @Override
    public void close() {
        TestNamespace.run("ip", "route", "del", "unreachable", range);
    }
}

package io.mergen.forwarder.app;

/**
 * Routes a guest range to "unreachable" on the host for the life of a test, so a dial that misses the VM's
 * namespace fails at once instead of leaving the machine.
 */
final class UnreachableRange implements AutoCloseable {
    private final String range;

    private UnreachableRange(String range) {
        this.range = range;
    }

    /** Adds the route; {@code replace} also takes over one a killed earlier run left behind. */
    static UnreachableRange add(String range) {
        Shell.run("ip", "route", "replace", "unreachable", range).orThrow();
        return new UnreachableRange(range);
    }

    /** The host's routes inside this range, as {@code ip route} prints them. */
    String routes() {
        return Shell.run("ip", "route", "show", "root", range).orThrow().stdout().strip();
    }

    @Override
    public void close() {
        Shell.quietly("ip", "route", "del", "unreachable", range);
    }
}

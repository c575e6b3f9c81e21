package io.mergen.forwarder;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Lets a test see and refuse every host name lookup the code under test attempts on the calling thread.
 *
 * <p>Installed for the whole test JVM through {@code META-INF/services}; outside {@link #lookupsDuring} it hands
 * every lookup to the JDK's own resolver unchanged. Names the JDK already holds in its address cache never reach
 * a resolver, so tests should look for lookups of names no earlier test resolved (random ones).
 */
public final class DnsGuard extends InetAddressResolverProvider {
    private static final ThreadLocal<List<String>> watched = new ThreadLocal<>();

    /** Runs {@code action} with lookups refused (UnknownHostException) and returns the names it tried. */
    public static List<String> lookupsDuring(Runnable action) {
        List<String> lookups = new ArrayList<>();
        List<String> outer = watched.get();
        watched.set(lookups);
        try {
            action.run();
        } finally {
            watched.set(outer);
        }
        return lookups;
    }

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy lookupPolicy)
                    throws UnknownHostException {
                refuseWhenWatched(host);
                return builtin.lookupByName(host, lookupPolicy);
            }

            @Override
            public String lookupByAddress(byte[] address) throws UnknownHostException {
                refuseWhenWatched(InetAddress.getByAddress(address).getHostAddress());
                return builtin.lookupByAddress(address);
            }
        };
    }

    private static void refuseWhenWatched(String name) throws UnknownHostException {
        List<String> lookups = watched.get();
        if (lookups != null) {
            lookups.add(name);
            throw new UnknownHostException(name + ": DNS is refused in this test");
        }
    }

    @Override
    public String name() {
        return "mergen test DNS guard";
    }
}

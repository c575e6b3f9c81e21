package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Chooses the namespace dialer this host can run, logging why dialing is disabled when it cannot. */
final class NamespaceDialers {
    private static final Logger log = LoggerFactory.getLogger(NamespaceDialers.class);

    private NamespaceDialers() {
    }

    static NamespaceDialer create(List<Path> netnsRoots, Transport transport, String osName) {
        List<Path> roots = List.copyOf(requireNonNull(netnsRoots, "netnsRoots"));
        requireNonNull(transport, "transport");
        requireNonNull(osName, "osName");
        if (roots.isEmpty()) {
            throw new IllegalArgumentException("netnsRoots: [] (expected: at least one directory)");
        }
        if (!osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
            String reason = "network namespaces need Linux (this host runs " + osName + ")";
            log.warn("namespace dialing disabled: {}", reason);
            return new UnsupportedNamespaceDialer(reason);
        }
        return new DeferredNamespaceDialer(roots, transport);
    }
}

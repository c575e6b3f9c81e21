package io.mergen.forwarder.resolver;

import static java.util.Objects.requireNonNull;

/** The routing decision for one TLS server name. */
public sealed interface Route permits Route.Found, Route.NoSni, Route.OutsideDomain, Route.UnknownLabel {

    /** The name's label is an alias of {@code vm}. */
    record Found(String serverName, String label, VmRoute vm) implements Route {
        public Found {
            requireNonNull(serverName, "serverName");
            requireNonNull(label, "label");
            requireNonNull(vm, "vm");
        }
    }

    /** The client sent no server name. */
    record NoSni() implements Route {}

    /** The name is not a single label under the configured domain. */
    record OutsideDomain(String serverName) implements Route {
        public OutsideDomain {
            requireNonNull(serverName, "serverName");
        }
    }

    /** The name is under the domain, but no VM has its label as an alias. */
    record UnknownLabel(String serverName, String label) implements Route {
        public UnknownLabel {
            requireNonNull(serverName, "serverName");
            requireNonNull(label, "label");
        }
    }
}

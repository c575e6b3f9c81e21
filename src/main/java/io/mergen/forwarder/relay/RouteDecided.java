package io.mergen.forwarder.relay;

import io.mergen.forwarder.resolver.Route;

/** Pipeline event from the SNI stage to the connector: the route chosen for the ClientHello's server name. */
record RouteDecided(Route route) {
}

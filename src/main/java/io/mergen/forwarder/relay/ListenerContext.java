package io.mergen.forwarder.relay;

import io.mergen.forwarder.config.ListenerSpec;
import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.mergen.forwarder.netns.NamespaceDialer;
import io.mergen.forwarder.protocol.CancelKeys;
import io.mergen.forwarder.protocol.ListenerProtocol;
import io.mergen.forwarder.resolver.VmResolver;

import java.time.Duration;

import static java.util.Objects.requireNonNull;

/**
 * Everything the pipeline of one listener needs, shared by all of its connections.
 *
 * @param domain the domain served, {@code <prefix.>suffix}, for error messages
 * @param tls makes the server TLS handler per handshake, so a reloaded certificate applies to new handshakes
 *            (null for raw listeners)
 * @param cancelKeys Postgres cancel keys of all connections, shared by every Postgres listener
 * @param limits the connection limits, shared by every listener
 * @param metrics where connections, bytes and failures are counted
 */
public record ListenerContext(
        ListenerSpec spec,
        String domain,
        VmResolver resolver,
        NamespaceDialer dialer,
        TlsSelector tls,
        Duration dialTimeout,
        Duration handshakeTimeout,
        Duration idleTimeout,
        CancelKeys cancelKeys,
        ConnectionLimits limits,
        ForwarderMetrics metrics) {

    public ListenerContext {
        requireNonNull(spec, "spec");
        requireNonNull(domain, "domain");
        requireNonNull(resolver, "resolver");
        requireNonNull(dialer, "dialer");
        requireNonNull(dialTimeout, "dialTimeout");
        requireNonNull(handshakeTimeout, "handshakeTimeout");
        requireNonNull(idleTimeout, "idleTimeout");
        requireNonNull(cancelKeys, "cancelKeys");
        requireNonNull(limits, "limits");
        requireNonNull(metrics, "metrics");
        if (ListenerProtocol.of(spec) != ListenerProtocol.RAW) {
            requireNonNull(tls, "tls");
        }
    }

    ListenerProtocol protocol() {
        return ListenerProtocol.of(spec);
    }
}

package io.mergen.forwarder.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Every metric the forwarder exports, declared in this one place, on a Prometheus registry.
 *
 * <p>Gauges hold their suppliers strongly: Micrometer keeps only a weak reference by default, and a lambda
 * nobody else holds would be collected, leaving the gauge at NaN.
 *
 * <p>Meters that the relay touches per read are looked up once per connection ({@link #bytes}) and then
 * incremented directly, so the hot path does no map lookups; the per-connection meters of a listener or a VM are
 * built once and kept.
 */
public final class ForwarderMetrics {
    private static final String PREFIX = "mergen_";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer dialDuration = Timer.builder(PREFIX + "dial_duration")
            .description("Time to connect to a guest inside its namespace, failures included")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofSeconds(10))
            .register(registry);

    /** Bytes one connection moves, split both ways, counted per listener and per VM. */
    public record ByteCounters(Counter fromClient, Counter toClient, Counter fromClientOfVm, Counter toClientOfVm) {
        public void addFromClient(long bytes) {
            fromClient.increment(bytes);
            fromClientOfVm.increment(bytes);
        }

        public void addToClient(long bytes) {
            toClient.increment(bytes);
            toClientOfVm.increment(bytes);
        }
    }

    /** The meters of one listener, looked up once: a registry lookup builds and sorts tags on every call. */
    private record ListenerMeters(Counter accepted, AtomicInteger active, Counter fromClient, Counter toClient,
                                  ConcurrentHashMap<String, Counter> closedByOutcome) {
    }

    /** The meters of one VM, looked up once. */
    private record VmMeters(Counter connections, AtomicInteger active, Counter fromClient, Counter toClient) {
    }

    private final ConcurrentHashMap<String, ListenerMeters> listeners = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, VmMeters> vms = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> handshakes = new ConcurrentHashMap<>();

    public void accepted(String listener) {
        ListenerMeters meters = listener(listener);
        meters.accepted().increment();
        meters.active().incrementAndGet();
    }

    public void closed(String listener, String outcome) {
        ListenerMeters meters = listener(listener);
        meters.closedByOutcome().computeIfAbsent(outcome, o -> counter("connections_closed",
                "Client connections closed, by how they ended", "listener", listener, "outcome", o)).increment();
        meters.active().decrementAndGet();
    }

    /** A connection to this VM began relaying; pair with {@link #vmDisconnected}. */
    public void vmConnected(String vm) {
        VmMeters meters = vm(vm);
        meters.connections().increment();
        meters.active().incrementAndGet();
    }

    public void vmDisconnected(String vm) {
        vm(vm).active().decrementAndGet();
    }

    public ByteCounters bytes(String listener, String vm) {
        ListenerMeters ofListener = listener(listener);
        VmMeters ofVm = vm(vm);
        return new ByteCounters(ofListener.fromClient(), ofListener.toClient(), ofVm.fromClient(), ofVm.toClient());
    }

    private ListenerMeters listener(String listener) {
        return listeners.computeIfAbsent(listener, l -> new ListenerMeters(
                counter("connections_accepted", "Client connections accepted", "listener", l),
                active("connections_active", "Client connections open now", "listener", l),
                counter("bytes", "Bytes relayed, per listener and direction", "listener", l,
                        "direction", "from_client"),
                counter("bytes", "Bytes relayed, per listener and direction", "listener", l,
                        "direction", "to_client"),
                new ConcurrentHashMap<>()));
    }

    private VmMeters vm(String vm) {
        return vms.computeIfAbsent(vm, v -> new VmMeters(
                counter("vm_connections", "Connections relayed to a VM", "vm", v),
                active("vm_connections_active", "Connections being relayed to a VM now", "vm", v),
                counter("vm_bytes", "Bytes relayed, per VM and direction", "vm", v, "direction", "from_client"),
                counter("vm_bytes", "Bytes relayed, per VM and direction", "vm", v, "direction", "to_client")));
    }

    /** A completed TLS handshake: {@code full}, {@code resumed} (from a session ticket) or {@code unknown}. */
    public void handshakeCompleted(String kind) {
        handshakes.computeIfAbsent(kind, k -> counter("handshakes",
                "TLS handshakes completed, full or resumed from a session ticket", "kind", k)).increment();
    }

    /** A client that did not complete its TLS opening: timeout, failed, not_tls, too_many_handshakes. */
    public void handshakeFailed(String reason) {
        counter("handshake_failures", "TLS openings that did not complete, by reason", "reason", reason).increment();
    }

    /** A client that could not be routed: no_sni, outside_domain, unknown_vm, no_vm, dial_failed, overloaded. */
    public void routeFailed(String reason) {
        counter("route_failures", "Connections that could not be routed, by reason", "reason", reason).increment();
    }

    /** A limit refused a connection: max_connections, max_connections_per_vm, max_handshakes_per_client. */
    public void limitHit(String limit) {
        counter("limit_hits", "Connections refused by a configured limit", "limit", limit).increment();
    }

    public void dialed(Duration took) {
        dialDuration.record(took);
    }

    /** Gauges read from the resolver's current snapshot at scrape time. */
    public void resolver(Supplier<Integer> vms, Supplier<Integer> aliases, Supplier<Integer> conflicts,
                         Supplier<Long> reloads) {
        Gauge.builder(PREFIX + "resolver_vms", vms, s -> s.get()).description("Routable VMs").strongReference(true).register(registry);
        Gauge.builder(PREFIX + "resolver_aliases", aliases, s -> s.get()).description("Routable names")
                .strongReference(true).register(registry);
        Gauge.builder(PREFIX + "resolver_conflicts", conflicts, s -> s.get())
                .description("Names claimed by more than one VM").strongReference(true).register(registry);
        Gauge.builder(PREFIX + "resolver_reloads", reloads, s -> s.get())
                .description("Metadata scans published since start").strongReference(true).register(registry);
    }

    /** Certificate gauges, read at scrape time from the certificate store. */
    public void certificates(Supplier<Long> earliestNotAfterEpochSeconds, Supplier<Long> reloads,
                             Supplier<Long> reloadFailures) {
        Gauge.builder(PREFIX + "certificate_expiry_seconds", earliestNotAfterEpochSeconds, s -> s.get())
                .description("Unix time at which the first serving certificate expires").strongReference(true).register(registry);
        Gauge.builder(PREFIX + "certificate_reloads", reloads, s -> s.get())
                .description("Certificate pairs replaced since start").strongReference(true).register(registry);
        Gauge.builder(PREFIX + "certificate_reload_failures", reloadFailures, s -> s.get())
                .description("Changed certificate pairs refused (invalid or mismatched); the old pair stays")
                .strongReference(true).register(registry);
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    private Counter counter(String name, String description, String... tags) {
        return Counter.builder(PREFIX + name).description(description).tags(tags).register(registry);
    }

    private AtomicInteger active(String name, String description, String tag, String value) {
        AtomicInteger count = new AtomicInteger();
        Gauge.builder(PREFIX + name, count, AtomicInteger::get).description(description).tag(tag, value)
                .strongReference(true).register(registry);
        return count;
    }
}

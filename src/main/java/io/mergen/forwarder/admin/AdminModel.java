package io.mergen.forwarder.admin;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What the admin endpoint shows, as functions the forwarder provides; the endpoint itself knows nothing of
 * the relay.
 *
 * @param metrics     the Prometheus text exposition
 * @param notReady    why the forwarder is not ready (empty when it is)
 * @param routes      the routing table, as JSON-ready values
 * @param connections the open connections whose VM id starts with the given filter ("" for all)
 */
public record AdminModel(
        Supplier<String> metrics,
        Supplier<List<String>> notReady,
        Supplier<Object> routes,
        Function<String, CompletableFuture<? extends List<?>>> connections) {
}

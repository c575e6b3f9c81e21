package io.mergen.forwarder.app;

import io.mergen.forwarder.resolver.RouteTable;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The routing table as the admin endpoint's {@code /routes} shows it: every alias, every VM, every conflict. */
record RoutesView(String domain, List<Vm> vms, Map<String, String> aliases, List<Conflict> conflicts) {

    record Vm(String id, String netns, String guestIP, Integer httpPort, String createdAt, List<String> aliases) {
    }

    record Conflict(String alias, String winner, String loser, String reason) {
    }

    static RoutesView of(RouteTable table, String domain) {
        Map<String, List<String>> aliasesById = new LinkedHashMap<>();
        Map<String, String> aliases = new TreeMap<>();
        table.aliases().forEach((alias, vm) -> {
            aliases.put(alias, vm.id());
            aliasesById.computeIfAbsent(vm.id(), id -> new ArrayList<>()).add(alias);
        });
        List<Vm> vms = table.vms().stream().map(vm -> new Vm(vm.id(), vm.netns(), vm.guestIp().getHostAddress(),
                vm.httpPort().isPresent() ? vm.httpPort().getAsInt() : null,
                vm.createdAt().map(Object::toString).orElse(null),
                aliasesById.getOrDefault(vm.id(), List.of()))).toList();
        List<Conflict> conflicts = table.conflicts().stream()
                .map(c -> new Conflict(c.alias(), c.winnerId(), c.loserId(), c.reason())).toList();
        return new RoutesView(domain, vms, aliases, conflicts);
    }
}

package io.mergen.forwarder.resolver;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** An immutable snapshot of the routable VMs, in resolver order, and the alias that leads to each. */
public final class RouteTable {

    /** Oldest first, VMs without a creation time after those with one, ties by id. */
    static final Comparator<VmRoute> RESOLVER_ORDER = Comparator
            .comparing((VmRoute vm) -> vm.createdAt().isEmpty())
            .thenComparing(vm -> vm.createdAt().orElse(Instant.MIN))
            .thenComparing(VmRoute::id);

    private static final RouteTable EMPTY = new RouteTable(List.of(), Map.of(), List.of());

    private final List<VmRoute> vms;
    private final Map<String, VmRoute> aliases;
    private final List<AliasConflict> conflicts;

    private RouteTable(List<VmRoute> vms, Map<String, VmRoute> aliases, List<AliasConflict> conflicts) {
        this.vms = vms;
        this.aliases = aliases;
        this.conflicts = conflicts;
    }

    public static RouteTable empty() {
        return EMPTY;
    }

    /**
     * Builds the table from VMs with distinct ids, in any order; {@code explicitNamesById} holds each VM's raw
     * names from {@code tags} and {@code metadata}. The result does not depend on the order of either input.
     */
    static RouteTable of(Collection<VmRoute> vms, Map<String, List<String>> explicitNamesById) {
        requireNonNull(vms, "vms");
        requireNonNull(explicitNamesById, "explicitNamesById");
        List<VmRoute> ordered = vms.stream().sorted(RESOLVER_ORDER).toList();
        Set<String> ids = new HashSet<>();
        for (VmRoute vm : ordered) {
            if (!ids.add(vm.id())) {
                throw new IllegalArgumentException("vms: duplicate id " + vm.id() + " (expected: distinct ids)");
            }
        }

        Map<String, List<Claim>> claimsByAlias = new LinkedHashMap<>();
        for (int position = 0; position < ordered.size(); position++) {
            VmRoute vm = ordered.get(position);
            Collection<String> names = explicitNamesById.getOrDefault(vm.id(), List.of());
            for (Map.Entry<String, AliasKind> own : aliasesOf(vm, names).entrySet()) {
                claimsByAlias.computeIfAbsent(own.getKey(), alias -> new ArrayList<>())
                        .add(new Claim(vm, position, own.getValue()));
            }
        }

        Map<String, VmRoute> aliases = new LinkedHashMap<>();
        List<AliasConflict> conflicts = new ArrayList<>();
        for (Map.Entry<String, List<Claim>> entry : claimsByAlias.entrySet()) {
            List<Claim> claims = entry.getValue();
            claims.sort(Claim.RANK);
            Claim winner = claims.getFirst();
            aliases.put(entry.getKey(), winner.vm());
            for (Claim loser : claims.subList(1, claims.size())) {
                conflicts.add(new AliasConflict(
                        entry.getKey(), winner.vm().id(), loser.vm().id(), reason(winner, loser)));
            }
        }
        return new RouteTable(ordered, Collections.unmodifiableMap(aliases), List.copyOf(conflicts));
    }

    /** The VM whose alias is {@code label}; the label must already be lower-cased. */
    public Optional<VmRoute> byAlias(String label) {
        requireNonNull(label, "label");
        return Optional.ofNullable(aliases.get(label));
    }

    /** The first VM in resolver order, the target of raw (non-TLS) listeners. */
    public Optional<VmRoute> first() {
        return vms.isEmpty() ? Optional.empty() : Optional.of(vms.getFirst());
    }

    /** The VMs in resolver order. */
    public List<VmRoute> vms() {
        return vms;
    }

    /** Every alias claimed by more than one VM, with the VM that got it. */
    public List<AliasConflict> conflicts() {
        return conflicts;
    }

    /** Every alias and the VM it routes to (unmodifiable). */
    public Map<String, VmRoute> aliases() {
        return aliases;
    }

    @Override
    public String toString() {
        return "RouteTable[vms=" + vms.size() + ", aliases=" + aliases.size() + ", conflicts=" + conflicts.size() + "]";
    }

    static String normalize(String alias) {
        return alias.strip().toLowerCase(Locale.ROOT);
    }

    /** One VM's aliases, each with the strongest way this VM claims it; a VM never conflicts with itself. */
    private static Map<String, AliasKind> aliasesOf(VmRoute vm, Collection<String> names) {
        Map<String, AliasKind> own = new LinkedHashMap<>();
        claim(own, vm.id(), AliasKind.FULL_ID);
        for (String name : names) {
            claim(own, name, AliasKind.NAME);
        }
        claim(own, vm.shortId(), AliasKind.ID_PREFIX);
        return own;
    }

    private static void claim(Map<String, AliasKind> own, String raw, AliasKind kind) {
        String alias = normalize(raw);
        if (!alias.isEmpty()) {
            own.merge(alias, kind, (a, b) -> a.compareTo(b) <= 0 ? a : b);
        }
    }

    private static String reason(Claim winner, Claim loser) {
        if (winner.kind() != loser.kind()) {
            return winner.kind().label + " beats " + loser.kind().label;
        }
        return "both claim it as " + winner.kind().label + "; " + winner.vm().id() + " is earlier in resolver order";
    }

    /** How strongly an alias names a VM, strongest first. */
    private enum AliasKind {
        FULL_ID("full id"),
        NAME("explicit name"),
        ID_PREFIX("id prefix");

        final String label;

        AliasKind(String label) {
            this.label = label;
        }
    }

    private record Claim(VmRoute vm, int position, AliasKind kind) {
        static final Comparator<Claim> RANK = Comparator.comparing(Claim::kind).thenComparingInt(Claim::position);
    }
}

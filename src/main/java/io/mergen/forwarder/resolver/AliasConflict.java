package io.mergen.forwarder.resolver;

import static java.util.Objects.requireNonNull;

/**
 * An alias claimed by two VMs, and which one got it.
 *
 * @param alias the lower-cased alias
 * @param winnerId the id of the VM the alias routes to
 * @param loserId the id of the VM that also claimed it
 * @param reason why the winner won, for operators
 */
public record AliasConflict(String alias, String winnerId, String loserId, String reason) {
    public AliasConflict {
        requireNonNull(alias, "alias");
        requireNonNull(winnerId, "winnerId");
        requireNonNull(loserId, "loserId");
        requireNonNull(reason, "reason");
    }
}

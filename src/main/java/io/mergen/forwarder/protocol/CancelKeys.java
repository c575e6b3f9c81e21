package io.mergen.forwarder.protocol;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * Which VM issued which Postgres cancel key, so a CancelRequest (which arrives on a new connection, in clear
 * text, without SNI) can be sent to the guest that can act on it.
 *
 * <p>A key is the BackendKeyData body, process id then secret, exactly as a CancelRequest repeats it after its
 * code. Entries live as long as the guest connection that announced them.
 */
public final class CancelKeys {
    /** Where a cancel for a key goes. */
    public record Target(String vmId, String netns, InetSocketAddress address) {
        public Target {
            requireNonNull(vmId, "vmId");
            requireNonNull(netns, "netns");
            requireNonNull(address, "address");
        }
    }

    private final Map<ByteBuffer, Target> targets = new ConcurrentHashMap<>();

    void register(byte[] key, Target target) {
        targets.put(ByteBuffer.wrap(key.clone()), target);
    }

    void unregister(byte[] key, Target target) {
        targets.remove(ByteBuffer.wrap(key), target);
    }

    public Optional<Target> find(byte[] key) {
        return Optional.ofNullable(targets.get(ByteBuffer.wrap(key)));
    }

    public int size() {
        return targets.size();
    }
}

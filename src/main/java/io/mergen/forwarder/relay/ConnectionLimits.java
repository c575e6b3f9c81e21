package io.mergen.forwarder.relay;

import io.mergen.forwarder.config.Limits;
import io.netty.channel.WriteBufferWaterMark;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts what the limits of {@link Limits} bound: connections per VM and handshakes in progress per client
 * address (the global count is {@link ActiveConnections}). Shared by all listeners and event loops.
 */
public final class ConnectionLimits {
    private final Limits limits;
    private final ConcurrentHashMap<String, Integer> perVm = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<InetAddress, Integer> handshakes = new ConcurrentHashMap<>();
    private final WriteBufferWaterMark waterMark;

    public ConnectionLimits(Limits limits) {
        this.limits = limits;
        this.waterMark = new WriteBufferWaterMark(limits.connectionBufferBytes() / 2, limits.connectionBufferBytes());
    }

    /** The per-direction buffer bound: reads of the other side pause above the high mark, resume below the low. */
    public WriteBufferWaterMark waterMark() {
        return waterMark;
    }

    boolean overGlobalLimit(int openConnections) {
        return limits.maxConnections() > 0 && openConnections > limits.maxConnections();
    }

    /** Takes a slot for one more connection to this VM; null when the VM is at its limit. */
    Slot acquireVm(String vmId) {
        return acquire(perVm, vmId, limits.maxConnectionsPerVm());
    }

    /** Takes a slot for one more handshake from this address; null when it has too many in progress. */
    Slot acquireHandshake(InetAddress client) {
        return acquire(handshakes, client, limits.maxHandshakesPerClient());
    }

    /** Keys with something counted; entries at zero are dropped, so a flood of addresses leaves nothing behind. */
    int trackedKeys() {
        return perVm.size() + handshakes.size();
    }

    private static <K> Slot acquire(ConcurrentHashMap<K, Integer> counts, K key, int max) {
        if (max == 0) {
            return Slot.UNLIMITED;
        }
        // compute() is atomic per key, so the count and the removal at zero cannot race.
        int count = counts.merge(key, 1, Integer::sum);
        if (count > max) {
            release(counts, key);
            return null;
        }
        return new Slot(() -> release(counts, key));
    }

    private static <K> void release(ConcurrentHashMap<K, Integer> counts, K key) {
        counts.computeIfPresent(key, (k, count) -> count == 1 ? null : count - 1);
    }

    /** One taken unit of a limit; released once, however often {@link #release()} is called. */
    static final class Slot {
        static final Slot UNLIMITED = new Slot(() -> { });

        private final Runnable onRelease;
        private boolean released;

        private Slot(Runnable onRelease) {
            this.onRelease = onRelease;
        }

        void release() {
            // UNLIMITED is shared by every connection: it has nothing to give back and keeps no state.
            if (this != UNLIMITED && !released) {
                released = true;
                onRelease.run();
            }
        }
    }
}

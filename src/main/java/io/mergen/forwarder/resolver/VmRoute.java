package io.mergen.forwarder.resolver;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One routable VM: where to dial it and in which network namespace.
 *
 * @param id the VM id from meta.json (usually a UUID)
 * @param createdAt when the VM was created, if meta.json says so; orders the VMs
 * @param guestIp the guest address, dialed inside {@code netns}
 * @param netns the file name of the VM's namespace under the netns root
 * @param httpPort the guest's HTTP port, used instead of 443 by the HTTPS listener
 */
public record VmRoute(String id, Optional<Instant> createdAt, InetAddress guestIp, String netns, OptionalInt httpPort) {

    private static final int SHORT_ID_LENGTH = 8;
    private static final int HTTPS_GUEST_PORT = 443;

    public VmRoute {
        requireNonNull(id, "id");
        requireNonNull(createdAt, "createdAt");
        requireNonNull(guestIp, "guestIp");
        requireNonNull(netns, "netns");
        requireNonNull(httpPort, "httpPort");
        if (id.isEmpty()) {
            throw new IllegalArgumentException("id: \"\" (expected: non-empty)");
        }
    }

    /** The first 8 characters of the id (the whole id if shorter), as in {@code 084604f6.localhost}. */
    public String shortId() {
        return id.length() <= SHORT_ID_LENGTH ? id : id.substring(0, SHORT_ID_LENGTH);
    }

    /** The guest port to dial for a listener whose configured guest port is {@code listenerGuestPort}. */
    public int guestPort(int listenerGuestPort) {
        return listenerGuestPort == HTTPS_GUEST_PORT && httpPort.isPresent() ? httpPort.getAsInt() : listenerGuestPort;
    }
}

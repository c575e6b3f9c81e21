package io.mergen.forwarder.config;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;

/**
 * One listener: the address the forwarder binds and the guest port it forwards to, in TLS or raw mode.
 *
 * <p>Written {@code [host]:port=guestPort[/tls|/raw]} in {@code FWD_LISTENERS}, e.g. {@code :443=443},
 * {@code 127.0.0.1:8022=22/raw}, {@code [::1]:8443=443}. The host is kept in canonical form: empty for all
 * addresses, {@code localhost}, or an IP literal as {@link io.netty.util.NetUtil#toAddressString} prints it.
 */
public record ListenerSpec(String host, int port, int guestPort, ListenerMode mode) {

    public ListenerSpec {
        requireNonNull(host, "host");
        requireNonNull(mode, "mode");
        host = ListenerParser.canonicalHost(host);
        checkPort("port", port);
        checkPort("guestPort", guestPort);
    }

    /** Parses one {@code FWD_LISTENERS} entry; blanks around it are ignored. */
    public static ListenerSpec parse(String entry) {
        return ListenerParser.parseEntry(requireNonNull(entry, "entry"));
    }

    /** The socket address to bind: the wildcard address when {@link #host()} is empty; never a DNS lookup. */
    public InetSocketAddress bindAddress() {
        return host.isEmpty()
                ? new InetSocketAddress(port)
                : new InetSocketAddress(ListenerParser.address(host), port);
    }

    /**
     * The canonical entry, for logs; {@link #parse} gives this listener back.
     *
     * <p>{@code /raw} is always written, because a listener without TLS should be obvious in a log line;
     * {@code /tls} only when it overrides {@link ListenerMode#defaultFor}.
     */
    public String text() {
        String listenHost = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        boolean showMode = mode == ListenerMode.RAW || mode != ListenerMode.defaultFor(guestPort);
        return listenHost + ":" + port + "=" + guestPort + (showMode ? mode.suffix() : "");
    }

    private static void checkPort(String name, int value) {
        if (value < 1 || value > 65535) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: 1..65535)");
        }
    }
}

package io.mergen.forwarder.config;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One listener: the address the forwarder binds and the guest port it forwards to, in TLS or raw mode.
 *
 * <p>Written {@code [host]:port=guestPort[/mode[+option...]]} in {@code FWD_LISTENERS}, e.g. {@code :443=443},
 * {@code 127.0.0.1:8022=22/raw}, {@code [::1]:8443=443}, {@code :8443=443/tls+h2}. The host is kept in canonical
 * form: empty for all addresses, {@code localhost}, or an IP literal as
 * {@link io.netty.util.NetUtil#toAddressString} prints it.
 */
public record ListenerSpec(String host, int port, int guestPort, ListenerMode mode, Set<ListenerOption> options) {

    public ListenerSpec {
        requireNonNull(host, "host");
        requireNonNull(mode, "mode");
        requireNonNull(options, "options");
        host = ListenerParser.canonicalHost(host);
        checkPort("port", port);
        checkPort("guestPort", guestPort);
        options = options.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(options));
        if (mode == ListenerMode.RAW && options.contains(ListenerOption.H2)) {
            throw new IllegalArgumentException("option h2 needs TLS (expected: /tls+h2)");
        }
    }

    /** A listener without options. */
    public ListenerSpec(String host, int port, int guestPort, ListenerMode mode) {
        this(host, port, guestPort, mode, Set.of());
    }

    public boolean has(ListenerOption option) {
        return options.contains(option);
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
        boolean showMode = mode == ListenerMode.RAW || mode != ListenerMode.defaultFor(guestPort) || !options.isEmpty();
        String optionText = options.stream().sorted().map(o -> "+" + o.text()).collect(Collectors.joining());
        return listenHost + ":" + port + "=" + guestPort + (showMode ? mode.suffix() + optionText : "");
    }

    private static void checkPort(String name, int value) {
        if (value < 1 || value > 65535) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: 1..65535)");
        }
    }
}

package io.mergen.forwarder.config;

import static io.mergen.forwarder.config.ConfigException.quote;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** Turns {@code FWD_LISTENERS} text into listener specs, rejecting malformed, disallowed or clashing entries. */
final class ListenerParser {

    static final String SYNTAX = "[host]:port=guestPort[/tls|/raw][+h2][+proxy]";

    private static final String LOCALHOST = "localhost";

    private ListenerParser() {
    }

    /**
     * Parses a comma-separated list of entries. Blanks around entries are ignored and empty entries (a trailing
     * comma, {@code ,,}) are skipped, since they are a harmless slip of editing; a list with no entry at all is
     * rejected. The exception message is the reason; it names the entry when the list has several.
     */
    static List<ListenerSpec> parseList(String value, Set<Integer> allowedGuestPorts) {
        List<String> entries = new ArrayList<>();
        for (String entry : value.split(",", -1)) {
            if (!entry.isBlank()) {
                entries.add(entry.strip());
            }
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no listener (expected: at least one " + SYNTAX + " entry)");
        }
        boolean several = entries.size() > 1;
        List<ListenerSpec> specs = new ArrayList<>(entries.size());
        for (String entry : entries) {
            ListenerSpec spec;
            try {
                spec = parseEntry(entry);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(inEntry(several, entry, e.getMessage()), e);
            }
            if (!allowedGuestPorts.contains(spec.guestPort())) {
                throw new IllegalArgumentException(inEntry(several, entry, "guest port " + spec.guestPort()
                        + " is not in FWD_ALLOWED_GUEST_PORTS (" + join(allowedGuestPorts) + ")"));
            }
            for (ListenerSpec earlier : specs) {
                if (clash(earlier, spec)) {
                    throw new IllegalArgumentException(clashReason(earlier, spec));
                }
            }
            specs.add(spec);
        }
        return List.copyOf(specs);
    }

    /** Parses one entry; the exception message is the reason. */
    static ListenerSpec parseEntry(String entry) {
        String text = entry.strip();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("empty entry (expected: " + SYNTAX + ")");
        }
        int equals = text.indexOf('=');
        if (equals < 0) {
            throw new IllegalArgumentException("missing '=' (expected: " + SYNTAX + ")");
        }
        if (text.indexOf('=', equals + 1) >= 0) {
            throw new IllegalArgumentException("more than one '=' (expected: " + SYNTAX + ")");
        }
        String listenText = text.substring(0, equals);
        String target = text.substring(equals + 1);

        ListenerMode mode = null;
        Set<ListenerOption> options = EnumSet.noneOf(ListenerOption.class);
        int slash = target.indexOf('/');
        if (slash >= 0) {
            String[] modeAndOptions = target.substring(slash + 1).split("\\+", -1);
            mode = ListenerMode.parse(modeAndOptions[0]);
            for (int i = 1; i < modeAndOptions.length; i++) {
                options.add(ListenerOption.parse(modeAndOptions[i]));
            }
            target = target.substring(0, slash);
        }
        int guestPort = port("guest port", target);

        Listen listen = splitListen(listenText);
        int port = port("listen port", listen.port());
        ListenerMode effectiveMode = mode != null ? mode : ListenerMode.defaultFor(guestPort);
        return new ListenerSpec(listen.host(), port, guestPort, effectiveMode, options);
    }

    /** Parses {@code [host]:port} (IPv6 in brackets, no DNS) into a bindable address; an empty host is the wildcard. */
    static InetSocketAddress socketAddress(String hostPort) {
        Listen listen = splitListen(hostPort.strip());
        int port = port("port", listen.port());
        String host = canonicalHost(listen.host());
        return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(address(host), port);
    }

    /** The listen side of an entry, split: {@code host} may be empty, {@code port} is still text. */
    private record Listen(String host, String port) {
    }

    private static Listen splitListen(String listen) {
        if (!listen.startsWith("[")) {
            int colon = listen.lastIndexOf(':');
            String host = colon < 0 ? "" : listen.substring(0, colon);
            if (host.indexOf(':') >= 0) {
                throw new IllegalArgumentException(
                        "IPv6 host " + quote(host) + " must be in brackets (expected: [::1]:8443=443)");
            }
            if (host.indexOf('[') >= 0 || host.indexOf(']') >= 0) {
                throw new IllegalArgumentException("host " + quote(host) + " has stray brackets");
            }
            return new Listen(host, listen.substring(colon + 1));
        }
        int close = listen.indexOf(']');
        if (close < 0) {
            throw new IllegalArgumentException("missing ']' after the IPv6 address (expected: [::1]:8443=443)");
        }
        String host = listen.substring(1, close);
        if (host.indexOf('[') >= 0) {
            throw new IllegalArgumentException("host " + quote(host) + " has stray brackets");
        }
        if (close + 1 >= listen.length() || listen.charAt(close + 1) != ':') {
            throw new IllegalArgumentException("missing ':port' after ']' (expected: [::1]:8443=443)");
        }
        if (!NetUtil.isValidIpV6Address(host)) {
            throw new IllegalArgumentException(
                    "host " + quote(host) + " in brackets is not an IPv6 address (brackets are for IPv6 only)");
        }
        return new Listen(host, listen.substring(close + 2));
    }

    /**
     * The canonical form of a listen host: empty, {@code localhost}, or the IP literal in Netty's canonical text.
     * Names other than {@code localhost} are rejected rather than resolved: the forwarder does no DNS.
     */
    static String canonicalHost(String host) {
        if (host.isEmpty()) {
            return "";
        }
        if (host.equalsIgnoreCase(LOCALHOST)) {
            return LOCALHOST;
        }
        if (host.indexOf('%') >= 0) {
            throw new IllegalArgumentException("host " + quote(host) + " has a zone id, which is not supported");
        }
        // NetUtil's IPv6 check also accepts "[::1]"; brackets belong to the entry syntax, not to the host.
        boolean literal = NetUtil.isValidIpV4Address(host)
                || (NetUtil.isValidIpV6Address(host) && host.charAt(0) != '[');
        if (!literal) {
            throw new IllegalArgumentException("host " + quote(host)
                    + " is not an IP address or localhost (host names are not resolved)");
        }
        return NetUtil.toAddressString(NetUtil.createInetAddressFromIpAddressString(host));
    }

    /** The address of a canonical, non-empty host, without DNS: {@code localhost} is 127.0.0.1. */
    static InetAddress address(String canonicalHost) {
        return canonicalHost.equals(LOCALHOST)
                ? NetUtil.LOCALHOST4
                : NetUtil.createInetAddressFromIpAddressString(canonicalHost);
    }

    /**
     * Whether two listeners cannot both bind: the same port on the same address, or the same port where either
     * binds the wildcard address (on Linux that takes the port on every address, IPv4 and IPv6).
     */
    static boolean clash(ListenerSpec a, ListenerSpec b) {
        if (a.port() != b.port()) {
            return false;
        }
        InetAddress first = a.bindAddress().getAddress();
        InetAddress second = b.bindAddress().getAddress();
        return first.isAnyLocalAddress() || second.isAnyLocalAddress() || first.equals(second);
    }

    private static String clashReason(ListenerSpec earlier, ListenerSpec later) {
        boolean wildcard = earlier.bindAddress().getAddress().isAnyLocalAddress()
                || later.bindAddress().getAddress().isAnyLocalAddress();
        return "entries " + quote(earlier.text()) + " and " + quote(later.text()) + " both bind port "
                + later.port() + (wildcard ? " (a wildcard host binds every address)" : " on the same address");
    }

    private static int port(String what, String text) {
        try {
            return Decimal.port(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " " + quote(text) + ": " + e.getMessage(), e);
        }
    }

    private static String inEntry(boolean several, String entry, String reason) {
        return several ? "entry " + quote(entry) + ": " + reason : reason;
    }

    private static String join(Set<Integer> ports) {
        return ports.stream().sorted().map(String::valueOf).collect(Collectors.joining(","));
    }
}

package io.mergen.forwarder.config;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Holds the forwarder's whole configuration, read and validated once from the environment.
 *
 * <p>The variables, defaults and meanings are those of the original Go forwarder, plus the handshake and idle
 * timeouts and the limits; {@link #help()} lists them.
 *
 * @param listeners         the listeners to bind, in the order given, with no two on the same address and port
 * @param allowedGuestPorts the guest ports listeners may forward to, iterated in ascending order
 * @param domain            the {@code <label>.[prefix.]suffix} rule for server names
 * @param configRoot        the folder holding {@code <vm-id>/meta.json}
 * @param netnsRoots        the folders to look up a VM's network namespace in, in order, without duplicates
 * @param tlsCertFile       the PEM certificate chain for {@code *.<domain>}
 * @param tlsKeyFile        the PEM private key of that certificate
 * @param tlsCerts          further certificate and key files, in the order given, without duplicates
 * @param localCa           the local CA issuing a leaf per routed name; empty when off
 * @param rsaSigner         the library that signs handshakes with RSA keys
 * @param sessionResumption whether clients may resume TLS sessions
 * @param dialTimeout       the time to connect to the guest, positive
 * @param resolverCacheTtl  the upper bound of the periodic metadata rescan, zero or positive
 * @param shutdownTimeout   the time open connections get to finish on shutdown, zero or positive
 * @param handshakeTimeout  the time a client has to complete the TLS handshake, positive
 * @param idleTimeout       the time a connection may pass no bytes before it is closed, positive
 * @param limits            connection counts and per-connection buffering
 * @param adminAddress      where the admin endpoint listens; empty when it is off
 * @param logLevel          one of trace, debug, info, warn, error
 * @param logFormat         console or JSON lines
 */
public record ForwarderConfig(
        List<ListenerSpec> listeners, Set<Integer> allowedGuestPorts, DomainRule domain,
        Path configRoot, List<Path> netnsRoots, Path tlsCertFile, Path tlsKeyFile,
        List<CertPair> tlsCerts,
        Optional<CertPair> localCa, RsaSigner rsaSigner, boolean sessionResumption,
        Duration dialTimeout, Duration resolverCacheTtl, Duration shutdownTimeout,
        Duration handshakeTimeout, Duration idleTimeout, Limits limits, Optional<InetSocketAddress> adminAddress,
        String logLevel, LogFormat logFormat) {

    /** Namespace folders tried after {@code FWD_NETNS_ROOT}: the default and its /var/run twin (meta-schema.md). */
    static final List<Path> FALLBACK_NETNS_ROOTS = List.of(Path.of("/run/netns"), Path.of("/var/run/netns"));

    private static final String CERT_DIR = "/etc/mergen/certs/";

    public ForwarderConfig {
        listeners = List.copyOf(requireNonNull(listeners, "listeners"));
        allowedGuestPorts = Collections.unmodifiableSortedSet(
                new TreeSet<>(requireNonNull(allowedGuestPorts, "allowedGuestPorts")));
        requireNonNull(domain, "domain");
        requireNonNull(configRoot, "configRoot");
        netnsRoots = List.copyOf(requireNonNull(netnsRoots, "netnsRoots"));
        requireNonNull(tlsCertFile, "tlsCertFile");
        requireNonNull(tlsKeyFile, "tlsKeyFile");
        tlsCerts = List.copyOf(requireNonNull(tlsCerts, "tlsCerts"));
        requireNonNull(localCa, "localCa");
        requireNonNull(rsaSigner, "rsaSigner");
        requireNonNull(dialTimeout, "dialTimeout");
        requireNonNull(resolverCacheTtl, "resolverCacheTtl");
        requireNonNull(shutdownTimeout, "shutdownTimeout");
        requireNonNull(handshakeTimeout, "handshakeTimeout");
        requireNonNull(idleTimeout, "idleTimeout");
        requireNonNull(limits, "limits");
        requireNonNull(adminAddress, "adminAddress");
        requireNonNull(logLevel, "logLevel");
        requireNonNull(logFormat, "logFormat");
    }

    /**
     * Reads the configuration from environment variables; unset or blank ones take their defaults.
     *
     * @throws ConfigException for the first variable whose value cannot be used
     */
    public static ForwarderConfig fromEnvironment(Map<String, String> env) {
        EnvironmentReader reader = new EnvironmentReader(env);

        Set<Integer> allowedGuestPorts = reader.read(EnvVar.FWD_ALLOWED_GUEST_PORTS, EnvironmentReader::ports);
        List<ListenerSpec> listeners = reader.read(EnvVar.FWD_LISTENERS,
                value -> ListenerParser.parseList(value, allowedGuestPorts));

        String suffix = reader.domainSuffix();
        DomainRule domain = reader.read(EnvVar.FWD_DOMAIN_PREFIX, prefix -> new DomainRule(prefix, suffix));
        String certBase = CERT_DIR + "wildcard." + domain.domain();

        Path configRoot = reader.read(EnvVar.FWD_CONFIG_ROOT, EnvironmentReader::path);
        Path netnsRoot = reader.read(EnvVar.FWD_NETNS_ROOT, EnvironmentReader::path);
        Set<Path> netnsRoots = new LinkedHashSet<>();
        netnsRoots.add(netnsRoot);
        netnsRoots.addAll(FALLBACK_NETNS_ROOTS);

        return new ForwarderConfig(
                listeners,
                allowedGuestPorts,
                domain,
                configRoot,
                List.copyOf(netnsRoots),
                reader.read(EnvVar.FWD_TLS_CERT_FILE, certBase + ".crt", EnvironmentReader::path),
                reader.read(EnvVar.FWD_TLS_KEY_FILE, certBase + ".key", EnvironmentReader::path),
                reader.read(EnvVar.FWD_TLS_CERTS, EnvironmentReader::certPairs),
                reader.localCa(),
                reader.read(EnvVar.FWD_TLS_RSA_SIGNER, RsaSigner::parse),
                reader.read(EnvVar.FWD_TLS_SESSION_RESUMPTION, EnvironmentReader::onOff),
                reader.read(EnvVar.FWD_DIAL_TIMEOUT_SECONDS, EnvironmentReader.seconds(1)),
                reader.read(EnvVar.FWD_RESOLVER_CACHE_TTL_SECONDS, EnvironmentReader.seconds(0)),
                reader.read(EnvVar.FWD_SHUTDOWN_TIMEOUT_SECONDS, EnvironmentReader.seconds(0)),
                reader.read(EnvVar.FWD_HANDSHAKE_TIMEOUT_SECONDS, EnvironmentReader.seconds(1)),
                reader.read(EnvVar.FWD_IDLE_TIMEOUT_SECONDS, EnvironmentReader.seconds(1)),
                Limits.read(reader),
                reader.readOptional(EnvVar.FWD_ADMIN_ADDR, ListenerParser::socketAddress),
                reader.read(EnvVar.FWD_LOG_LEVEL, EnvironmentReader::logLevel),
                reader.read(EnvVar.FWD_LOG_FORMAT, LogFormat::parse));
    }

    /** The {@code --help} text: every variable with its default and one line of meaning. */
    public static String help() {
        StringBuilder out = new StringBuilder()
                .append("mergen-forwarder: TLS-terminating, SNI-routing forwarder to Firecracker VMs.\n")
                .append("Configured by environment variables (unset or empty = default):\n");
        for (EnvVar variable : EnvVar.values()) {
            String shown = variable.defaultValue().isEmpty() ? "(empty)" : variable.defaultValue();
            out.append("\n  ").append(variable.name()).append("  default: ").append(shown)
                    .append("\n      ").append(variable.meaning()).append('\n');
        }
        return out.toString();
    }
}

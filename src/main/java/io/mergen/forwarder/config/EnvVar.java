package io.mergen.forwarder.config;

/** Declares every environment variable the forwarder reads, with its default and meaning, in one list. */
enum EnvVar {
    FWD_LISTENERS(":443=443,:2022=22,:5432=5432,:6379=6379,:9092=9092",
            "comma-separated " + ListenerParser.SYNTAX + "; no host = all addresses; without a mode guest port 22"
                    + " is raw, others TLS"),
    FWD_ALLOWED_GUEST_PORTS("22,443,5432,6379,9092",
            "comma-separated guest ports (1..65535) that listeners may forward to"),
    FWD_DOMAIN_PREFIX("",
            "labels between the VM label and the suffix: <label>.<prefix>.<suffix>; empty = none"),
    FWD_DOMAIN_SUFFIX("localhost",
            "domain the VM labels are served under; must not be empty"),
    FWD_CONFIG_ROOT("/etc/mergen/vm.d",
            "folder holding one <vm-id>/meta.json per VM"),
    FWD_NETNS_ROOT("/run/netns",
            "folder of named network namespaces; /run/netns and /var/run/netns are tried after it"),
    FWD_TLS_CERT_FILE("/etc/mergen/certs/wildcard.<domain>.crt",
            "PEM certificate chain for *.<domain>, where <domain> is [prefix.]suffix"),
    FWD_TLS_KEY_FILE("/etc/mergen/certs/wildcard.<domain>.key",
            "PEM private key of that certificate"),
    FWD_TLS_CERTS("",
            "more certificates, as comma-separated cert.pem:key.pem pairs; a handshake gets the one whose names cover"
                    + " its server name, else the FWD_TLS_CERT_FILE one; empty = none"),
    FWD_TLS_CA_CERT_FILE("",
            "PEM certificate of a local CA: each routed name then gets its own short-lived leaf from it at its first"
                    + " handshake (as Caddy's internal issuer); empty = off"),
    FWD_TLS_CA_KEY_FILE("",
            "PEM private key of that CA; set together with FWD_TLS_CA_CERT_FILE"),
    FWD_TLS_RSA_SIGNER("auto",
            "who makes the handshake signatures of RSA certificates: openssl (the system's libcrypto.so.3, half the"
                    + " CPU of BoringSSL's on CPUs with AVX-512 IFMA), boringssl, or auto = openssl when it loads"),
    FWD_TLS_SESSION_RESUMPTION("on",
            "on or off: a returning client may resume its TLS session (tickets, and TLS 1.2 session IDs) without the"
                    + " certificate and its signature; the ticket keys are made and rotated in memory"),
    FWD_DIAL_TIMEOUT_SECONDS("5",
            "seconds to connect to the guest service (> 0)"),
    FWD_RESOLVER_CACHE_TTL_SECONDS("5",
            "longest a meta.json change may go unseen: upper bound of the periodic rescan beside the folder watch"
                    + " (>= 0)"),
    FWD_SHUTDOWN_TIMEOUT_SECONDS("15",
            "seconds open connections get to finish on shutdown before they are closed (>= 0)"),
    FWD_HANDSHAKE_TIMEOUT_SECONDS("10",
            "seconds a client has to complete the TLS handshake (> 0)"),
    FWD_IDLE_TIMEOUT_SECONDS("3600",
            "seconds a connection may pass no bytes in either direction before it is closed (> 0)"),
    FWD_MAX_CONNECTIONS("0",
            "open client connections across all listeners; beyond it new ones are refused (HTTPS: 503); 0 = no limit"),
    FWD_MAX_CONNECTIONS_PER_VM("0",
            "open relayed connections to one VM; beyond it that VM's new connections are refused; 0 = no limit"),
    FWD_MAX_HANDSHAKES_PER_CLIENT("1000",
            "TLS handshakes in progress at once from one client address; more are closed at once; 0 = no limit"),
    FWD_CONNECTION_BUFFER_BYTES("65536",
            "bytes queued toward one side of a connection before reading the other side pauses (1024.."
                    + (64 << 20) + ")"),
    FWD_ADMIN_ADDR("127.0.0.1:9901",
            "host:port of the plain-HTTP admin endpoint (/metrics, /healthz, /readyz, /routes, /connections);"
                    + " empty turns it off; keep it off public addresses"),
    FWD_LOG_LEVEL("debug",
            "trace, debug, info, warn (or warning) or error"),
    FWD_LOG_FORMAT("console",
            "console, or json for one JSON object per line");

    private final String defaultValue;
    private final String meaning;

    EnvVar(String defaultValue, String meaning) {
        this.defaultValue = defaultValue;
        this.meaning = meaning;
    }

    /** The default, as the help text shows it; for the TLS files it holds a {@code <domain>} placeholder. */
    String defaultValue() {
        return defaultValue;
    }

    String meaning() {
        return meaning;
    }
}

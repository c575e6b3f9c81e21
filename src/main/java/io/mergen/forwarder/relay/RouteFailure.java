package io.mergen.forwarder.relay;

/** Why a connection could not be relayed, with the text a client may be shown. */
record RouteFailure(Outcome outcome, String message) {

    static RouteFailure noSni() {
        return new RouteFailure(Outcome.NO_SNI, "a TLS server name (SNI) is required to pick a VM");
    }

    static RouteFailure outsideDomain(String serverName, String domain) {
        return new RouteFailure(Outcome.OUTSIDE_DOMAIN,
                "'" + serverName + "' is not a name under " + domain + " served here");
    }

    static RouteFailure unknownVm(String label) {
        return new RouteFailure(Outcome.UNKNOWN_VM, "no VM named " + label + " on this host");
    }

    static RouteFailure noVm() {
        return new RouteFailure(Outcome.NO_VM, "no VM is running on this host");
    }

    static RouteFailure dialFailed(String vmName, String reason) {
        return new RouteFailure(Outcome.DIAL_FAILED, "VM " + vmName + " is not reachable: " + reason);
    }
}

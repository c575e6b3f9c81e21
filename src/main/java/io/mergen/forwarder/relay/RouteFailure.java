package io.mergen.forwarder.relay;

import io.mergen.forwarder.protocol.Refusal;

/** Why a connection could not be relayed: how the log records it and what the client is told. */
record RouteFailure(Outcome outcome, Refusal refusal) {

    static RouteFailure noSni() {
        return new RouteFailure(Outcome.NO_SNI, new Refusal(Refusal.Reason.NO_SNI,
                "a TLS server name (SNI) is required to pick a VM"));
    }

    static RouteFailure outsideDomain(String serverName, String domain) {
        return new RouteFailure(Outcome.OUTSIDE_DOMAIN, new Refusal(Refusal.Reason.UNKNOWN_NAME,
                "'" + serverName + "' is not a name under " + domain + " served here"));
    }

    static RouteFailure unknownVm(String label) {
        return new RouteFailure(Outcome.UNKNOWN_VM, new Refusal(Refusal.Reason.UNKNOWN_NAME,
                "no VM named " + label + " on this host"));
    }

    static RouteFailure noVm() {
        return new RouteFailure(Outcome.NO_VM, new Refusal(Refusal.Reason.UNKNOWN_NAME,
                "no VM is running on this host"));
    }

    static RouteFailure dialFailed(String vmName, String reason) {
        return new RouteFailure(Outcome.DIAL_FAILED, new Refusal(Refusal.Reason.UNREACHABLE,
                "VM " + vmName + " is not reachable: " + reason));
    }

    static RouteFailure overloaded() {
        return new RouteFailure(Outcome.OVERLOADED, new Refusal(Refusal.Reason.OVERLOADED,
                "too many connections to this host (FWD_MAX_CONNECTIONS); try again later"));
    }

    static RouteFailure vmBusy(String vmName) {
        return new RouteFailure(Outcome.OVERLOADED, new Refusal(Refusal.Reason.OVERLOADED,
                "too many connections to VM " + vmName + " (FWD_MAX_CONNECTIONS_PER_VM); try again later"));
    }

    String message() {
        return refusal().message();
    }
}

package io.mergen.forwarder.app;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenSSH's ssh and scp as root@127.0.0.1 on a forwarder port, with one identity, no host key checks and no user
 * config, so only the forwarder decides which sshd answers.
 */
final class SshClient {
    private final Path identity;

    SshClient(Path identity) {
        this.identity = identity;
    }

    /** Runs {@code remoteCommand} over a raw listener on {@code port}. */
    Shell.Result run(int port, String remoteCommand) {
        List<String> command = new ArrayList<>(List.of("ssh", "-p", Integer.toString(port)));
        command.addAll(options());
        command.addAll(List.of("root@127.0.0.1", remoteCommand));
        return Shell.run(command, 60);
    }

    /**
     * Runs {@code remoteCommand} over a TLS listener on {@code port}: openssl s_client carries the SSH stream inside
     * TLS with {@code serverName} as SNI and checks the forwarder's certificate against {@code caFile}.
     */
    Shell.Result runOverTls(int port, String serverName, Path caFile, String remoteCommand) {
        List<String> command = new ArrayList<>(List.of("ssh", "-o", "ProxyCommand=openssl s_client -quiet"
                + " -verify_return_error -verify_hostname " + serverName + " -CAfile " + caFile
                + " -servername " + serverName + " -connect 127.0.0.1:" + port));
        command.addAll(options());
        command.addAll(List.of("root@" + serverName, remoteCommand));
        return Shell.run(command, 60);
    }

    /** Copies {@code local} to {@code remotePath} with scp (SFTP underneath, as OpenSSH 9 does by default). */
    Shell.Result copy(int port, Path local, String remotePath) {
        List<String> command = new ArrayList<>(List.of("scp", "-P", Integer.toString(port)));
        command.addAll(options());
        command.addAll(List.of(local.toString(), "root@127.0.0.1:" + remotePath));
        return Shell.run(command, 120);
    }

    private List<String> options() {
        return List.of("-F", "/dev/null", "-i", identity.toString(), "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10");
    }
}

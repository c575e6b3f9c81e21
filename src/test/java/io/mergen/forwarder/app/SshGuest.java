package io.mergen.forwarder.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;

/**
 * Debian's sshd serving on {@code guestIp:22} inside a {@link GuestVm}, with its own config, host key and pid file in
 * the VM's folder and one authorized client key; the VM's close() stops it.
 */
final class SshGuest {
    static final String SSHD = "/usr/sbin/sshd";
    private static final Path PRIVILEGE_SEPARATION_DIR = Path.of("/run/sshd");

    private SshGuest() {
    }

    /** Starts sshd in {@code vm} and returns once it listens; {@code clientPublicKey} may log in as root. */
    static void start(GuestVm vm, Path clientPublicKey) {
        Path dir = vm.dir();
        Path hostKey = dir.resolve("ssh_host_ed25519_key");
        Path authorizedKeys = dir.resolve("authorized_keys");
        Path config = dir.resolve("sshd_config");
        try {
            // sshd refuses to start without its privilege separation folder, which only the package's unit creates.
            Files.createDirectories(PRIVILEGE_SEPARATION_DIR);
            Shell.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", vm.name(), "-f", hostKey.toString())
                    .orThrow();
            Files.copy(clientPublicKey, authorizedKeys);
            Files.writeString(config, """
                    ListenAddress %s:22
                    HostKey %s
                    PidFile %s/sshd.pid
                    AuthorizedKeysFile %s
                    PasswordAuthentication no
                    KbdInteractiveAuthentication no
                    UsePAM no
                    StrictModes no
                    PermitRootLogin prohibit-password
                    PrintMotd no
                    PrintLastLog no
                    X11Forwarding no
                    Subsystem sftp internal-sftp
                    """.formatted(vm.guestIp(), hostKey, dir, authorizedKeys));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // sshd re-executes itself for every connection, so it must be started by its absolute path.
        Process sshd = vm.spawn("sshd.log", SSHD, "-D", "-e", "-f", config.toString());
        Path log = dir.resolve("sshd.log");
        try {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                    .failFast(() -> !sshd.isAlive())
                    .until(() -> readQuietly(log).contains("Server listening on " + vm.guestIp() + " port 22"));
        } catch (RuntimeException e) {
            throw new IllegalStateException("sshd did not start in " + vm.netns() + ": " + readQuietly(log), e);
        }
    }

    /** A fresh ed25519 client key pair; returns the private key's path (the public one is beside it, .pub). */
    static Path clientKey(Path dir) {
        Path key = dir.resolve("client_ed25519");
        Shell.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e-client", "-f", key.toString()).orThrow();
        return key;
    }

    private static String readQuietly(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }
}

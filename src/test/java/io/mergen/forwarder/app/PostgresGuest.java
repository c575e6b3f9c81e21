package io.mergen.forwarder.app;

import static java.util.Objects.requireNonNull;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs Debian's PostgreSQL server inside a {@link GuestVm}'s namespace on {@code guestIp:5432}, plain text
 * (the forwarder terminates TLS) and trusting every client, so a test can reach it only through the VM's
 * network; {@link #close()} shuts it down.
 */
final class PostgresGuest implements AutoCloseable {
    static final int PORT = 5432;
    private static final Path DEBIAN_BINARIES = Path.of("/usr/lib/postgresql");

    private final GuestVm vm;
    private final Path dataDir;
    private final Process server;

    private PostgresGuest(GuestVm vm, Path dataDir, Process server) {
        this.vm = vm;
        this.dataDir = dataDir;
        this.server = server;
    }

    /** Creates a cluster in the VM's folder, starts it inside the namespace and waits until it accepts connections. */
    static PostgresGuest start(GuestVm vm) {
        requireNonNull(vm, "vm");
        Path bin = serverBinaries();
        Path dataDir = vm.dir().resolve("pgdata");
        Path socketDir = vm.dir().resolve("pgsocket");
        try {
            openPathForPostgres(vm.dir());
            Files.createDirectories(dataDir);
            Files.createDirectories(socketDir);
            Shell.run("chown", "postgres:postgres", dataDir.toString(), socketDir.toString()).orThrow();
            Shell.run("chmod", "700", dataDir.toString()).orThrow();
            Shell.run(List.of("runuser", "-u", "postgres", "--", bin.resolve("initdb").toString(),
                    "-D", dataDir.toString(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                    "--no-sync"), 120).orThrow();
            // Overwrites initdb's file in place, so it stays owned by postgres with mode 600.
            Files.writeString(dataDir.resolve("pg_hba.conf"), """
                    local all all trust
                    host all all 0.0.0.0/0 trust
                    host all all ::/0 trust
                    """);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Process server = vm.spawn("postgres.log", "runuser", "-u", "postgres", "--",
                bin.resolve("postgres").toString(), "-D", dataDir.toString(),
                "-c", "listen_addresses=" + vm.guestIp(),
                "-c", "port=" + PORT,
                "-c", "unix_socket_directories=" + socketDir,
                "-c", "ssl=off",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "shared_buffers=16MB",
                "-c", "max_connections=30",
                "-c", "log_connections=on");
        PostgresGuest guest = new PostgresGuest(vm, dataDir, server);
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(guest::ready);
            return guest;
        } catch (RuntimeException e) {
            guest.close();
            throw e;
        }
    }

    private boolean ready() {
        if (!server.isAlive()) {
            throw new IllegalStateException("postgres exited with " + server.exitValue() + ":\n" + log());
        }
        return vm.exec("pg_isready", "-h", vm.guestIp(), "-p", String.valueOf(PORT), "-t", "1").exitCode() == 0;
    }

    /** Runs psql inside the namespace against the guest address, as the guest's own clients would. */
    Shell.Result psql(String... args) {
        List<String> command = new ArrayList<>(List.of("psql", "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", vm.guestIp(), "-p", String.valueOf(PORT), "-U", "postgres", "-d", "postgres"));
        command.addAll(List.of(args));
        return vm.exec(command.toArray(String[]::new));
    }

    /** One statement's result as unaligned text without headers; a failing statement throws. */
    String query(String sql) {
        return psql("-c", sql).orThrow().stdout().strip();
    }

    /** How many other sessions are running a statement containing {@code text} right now. */
    int activeStatements(String text) {
        return Integer.parseInt(query("select count(*) from pg_stat_activity where state = 'active'"
                + " and pid <> pg_backend_pid() and strpos(query, '" + text.replace("'", "''") + "') > 0"));
    }

    /** The server's log, for failure messages. */
    String log() {
        try {
            return Files.readString(vm.dir().resolve("postgres.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Fast shutdown (sessions end, shared memory is released); the VM's close kills whatever is left. */
    @Override
    public void close() {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (server.isAlive() && Files.exists(pidFile)) {
            try {
                String pid = Files.readAllLines(pidFile).getFirst().strip();
                Shell.quietly("kill", "-INT", pid);
            } catch (IOException | RuntimeException ignored) {
                // postgres is already going away; the VM's close kills what remains
            }
        }
        try {
            server.waitFor(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The newest Debian server under /usr/lib/postgresql/<version>/bin. */
    static Path serverBinaries() {
        try (Stream<Path> versions = Files.isDirectory(DEBIAN_BINARIES) ? Files.list(DEBIAN_BINARIES) : Stream.empty()) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(bin -> Files.isExecutable(bin.resolve("postgres")) && Files.isExecutable(bin.resolve("initdb")))
                    .max(Comparator.comparingInt(bin -> version(bin.getParent())))
                    .orElseThrow(() -> new IllegalStateException(
                            "no PostgreSQL server in " + DEBIAN_BINARIES + " (apt-get install postgresql)"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int version(Path dir) {
        String name = dir.getFileName().toString();
        return name.matches("\\d+") ? Integer.parseInt(name) : -1;
    }

    /**
     * The server runs as postgres, which must pass through the test's private temp folders (mode 700, owned by
     * root) to reach its data: lets others search (not list) each folder from the VM's up to the temp root.
     */
    private static void openPathForPostgres(Path dir) throws IOException {
        Path tmpRoot = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().normalize();
        for (Path p = dir.toAbsolutePath().normalize(); p != null && p.startsWith(tmpRoot) && !p.equals(tmpRoot);
                p = p.getParent()) {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(p);
            if (permissions.add(PosixFilePermission.OTHERS_EXECUTE)) {
                Files.setPosixFilePermissions(p, permissions);
            }
        }
    }
}

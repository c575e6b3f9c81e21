package io.mergen.forwarder.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for a microVM: a network namespace named {@code mfwd-<short id>} with the guest address on
 * its loopback, the servers a test starts inside it, and the VM's meta.json. {@link #close()} stops the
 * servers and deletes the namespace.
 *
 * <p>{@link #startNginx} gives the usual HTTP guest: ports 443 and 22 serve {@code /whoami} with the VM's
 * name; port 8080 serves {@code /port} (for {@code httpPort}); {@code /files/} serves a folder.
 */
final class GuestVm implements AutoCloseable {
    private final String id;
    private final String name;
    private final String netns;
    private final String guestIp;
    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private boolean namespaceExists;
    private boolean nginxStarted;

    private GuestVm(String id, String name, String guestIp, Path dir) {
        this.id = id;
        this.name = name;
        this.netns = "mfwd-" + id.substring(0, 8);
        this.guestIp = guestIp;
        this.dir = dir;
    }

    /** Creates the namespace with {@code guestIp} on its loopback; cleans up what it made if a step fails. */
    static GuestVm create(Path work, String name, String guestIp) {
        String id = UUID.randomUUID().toString();
        GuestVm vm = new GuestVm(id, name, guestIp, work.resolve("guest-" + id.substring(0, 8)));
        try {
            Files.createDirectories(vm.dir);
            Shell.run("ip", "netns", "add", vm.netns).orThrow();
            vm.namespaceExists = true;
            Shell.run("ip", "-n", vm.netns, "link", "set", "lo", "up").orThrow();
            Shell.run("ip", "-n", vm.netns, "addr", "add", guestIp + "/32", "dev", "lo").orThrow();
            return vm;
        } catch (IOException | RuntimeException e) {
            vm.close();
            throw e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
        }
    }

    /** A namespace with nginx serving on the guest address, see the class comment. */
    static GuestVm start(Path work, String name, String guestIp, Path files) {
        GuestVm vm = create(work, name, guestIp);
        try {
            vm.startNginx(files);
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /** Runs a command inside the namespace and waits for it. */
    Shell.Result exec(String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        full.addAll(List.of(command));
        return Shell.run(full, 120);
    }

    /** Starts a long-running server inside the namespace, its output in {@code <vm dir>/<logName>}; stopped by close(). */
    Process spawn(String logName, String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        full.addAll(List.of(command));
        try {
            Process process = new ProcessBuilder(full).redirectErrorStream(true)
                    .redirectOutput(dir.resolve(logName).toFile()).start();
            processes.add(process);
            return process;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The folder this VM's servers keep their files in. */
    Path dir() {
        return dir;
    }

    String guestIp() {
        return guestIp;
    }

    String netns() {
        return netns;
    }

    private void startNginx(Path files) {
        try {
            Files.createDirectories(dir.resolve("tmp"));
            Files.writeString(dir.resolve("nginx.conf"), """
                    user root;
                    worker_processes 1;
                    pid %1$s/nginx.pid;
                    error_log %1$s/error.log;
                    events { worker_connections 1024; }
                    http {
                      access_log off;
                      sendfile on;
                      client_body_temp_path %1$s/tmp;
                      server {
                        listen %2$s:443;
                        listen %2$s:22;
                        location = /whoami { default_type text/plain; return 200 "%3$s %4$s\\n"; }
                        location /files/ { alias %5$s/; }
                      }
                      server {
                        listen %2$s:8080;
                        location = /port { default_type text/plain; return 200 "%3$s on $server_port\\n"; }
                        location = /whoami { default_type text/plain; return 200 "%3$s %4$s\\n"; }
                      }
                    }
                    """.formatted(dir, guestIp, name, id, files));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        exec("nginx", "-c", dir.resolve("nginx.conf").toString()).orThrow();
        nginxStarted = true;
    }

    /** Writes meta.json atomically, as the VM manager does, so the resolver never sees half a file. */
    void writeMeta(Path configRoot, String createdAt, String extraJson) {
        String json = """
                {"id": "%s", %s "guestIP": "%s", "netns": "%s"%s}
                """.formatted(id, createdAt == null ? "" : "\"createdAt\": \"" + createdAt + "\",",
                guestIp, netns, extraJson.isEmpty() ? "" : ", " + extraJson);
        try {
            Path folder = Files.createDirectories(configRoot.resolve(id));
            Path tmp = folder.resolve("meta.json.tmp");
            Files.writeString(tmp, json);
            Files.move(tmp, folder.resolve("meta.json"), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String id() {
        return id;
    }

    String shortId() {
        return id.substring(0, 8);
    }

    String name() {
        return name;
    }

    /** What {@code /whoami} answers for this VM. */
    String whoami() {
        return name + " " + id + "\n";
    }

    /** Removes the namespace while nginx keeps running inside it: the VM's network is gone for new dials. */
    void deleteNamespace() {
        Shell.run("ip", "netns", "del", netns).orThrow();
        namespaceExists = false;
    }

    @Override
    public void close() {
        for (Process process : processes.reversed()) {
            // The parent before its children: nginx's master respawns a worker that dies first, and a worker outlives
            // a killed master, so killing the workers first once left a fresh worker running after the suite.
            List<ProcessHandle> descendants = process.descendants().toList();
            process.destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly);
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Path pid = dir.resolve("nginx.pid");
        if (nginxStarted && Files.exists(pid)) {
            try {
                Shell.quietly("kill", Files.readString(pid).strip());
            } catch (IOException ignored) {
                // nginx never wrote its pid: nothing to stop
            }
        }
        if (namespaceExists) {
            Shell.quietly("ip", "netns", "del", netns);
        }
    }
}

package io.mergen.forwarder.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A stand-in for a microVM: a network namespace named {@code mfwd-<short id>} with the guest address on
 * its loopback and a real nginx inside it, plus the VM's meta.json. Port 443 and 22 serve {@code /whoami}
 * with the VM's name; port 8080 serves {@code /port} (for {@code httpPort}); {@code /files/} serves the
 * folder given at start.
 */
final class GuestVm implements AutoCloseable {
    private final String id;
    private final String name;
    private final String netns;
    private final Path dir;
    private boolean namespaceExists;

    private GuestVm(String id, String name, Path dir) {
        this.id = id;
        this.name = name;
        this.netns = "mfwd-" + id.substring(0, 8);
        this.dir = dir;
    }

    /** Creates the namespace and starts nginx on {@code guestIp}; cleans up what it made if a step fails. */
    static GuestVm start(Path work, String id, String name, String guestIp, Path files) {
        GuestVm vm = new GuestVm(id, name, work.resolve("guest-" + id.substring(0, 8)));
        try {
            vm.create(guestIp, files);
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    private void create(String guestIp, Path files) {
        Shell.run("ip", "netns", "add", netns).orThrow();
        namespaceExists = true;
        Shell.run("ip", "-n", netns, "link", "set", "lo", "up").orThrow();
        Shell.run("ip", "-n", netns, "addr", "add", guestIp + "/32", "dev", "lo").orThrow();
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
        Shell.run("ip", "netns", "exec", netns, "nginx", "-c", dir.resolve("nginx.conf").toString()).orThrow();
    }

    /** Writes meta.json atomically, as the VM manager does, so the resolver never sees half a file. */
    void writeMeta(Path configRoot, String createdAt, String extraJson, String guestIp) {
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
        Path pid = dir.resolve("nginx.pid");
        if (Files.exists(pid)) {
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

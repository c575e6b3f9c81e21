package io.mergen.forwarder.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;

/**
 * nginx inside a {@link GuestVm} speaking only HTTP/2 in clear text (prior knowledge, no upgrade) on
 * {@code guestIp:port}, answering {@code /whoami} with the VM's name; the VM's close() stops it.
 */
final class H2cGuest {
    private H2cGuest() {
    }

    /** Starts nginx in the foreground in {@code vm} and returns once it answers h2c from inside the namespace. */
    static void start(GuestVm vm, int port) {
        Path dir = vm.dir();
        Path config = dir.resolve("nginx-h2c.conf");
        try {
            Files.createDirectories(dir.resolve("tmp-h2c"));
            // nginx 1.22: "http2" on a listener without "ssl" is h2c with prior knowledge; HTTP/1.1 is refused there.
            Files.writeString(config, """
                    daemon off;
                    user root;
                    worker_processes 1;
                    pid %1$s/nginx-h2c.pid;
                    error_log %1$s/error-h2c.log;
                    events { worker_connections 256; }
                    http {
                      access_log off;
                      client_body_temp_path %1$s/tmp-h2c;
                      server {
                        listen %2$s:%3$d http2;
                        location = /whoami { default_type text/plain; return 200 "%4$s $server_protocol\\n"; }
                      }
                    }
                    """.formatted(dir, vm.guestIp(), port, vm.name()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Process nginx = vm.spawn("nginx-h2c.log", "nginx", "-c", config.toString());
        String url = "http://" + vm.guestIp() + ":" + port + "/whoami";
        try {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .failFast(() -> !nginx.isAlive())
                    .until(() -> vm.exec("curl", "-sS", "--max-time", "5", "--http2-prior-knowledge", url).stdout()
                            .equals(vm.name() + " HTTP/2.0\n"));
        } catch (RuntimeException e) {
            throw new IllegalStateException("h2c nginx did not start in " + vm.netns(), e);
        }
    }
}

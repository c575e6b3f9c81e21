package io.mergen.forwarder.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;

/** Debian's redis-server on {@code guestIp:6379} inside a {@link GuestVm}, in memory only, until the VM closes. */
final class RedisGuest {
    static final String REDIS_SERVER = "/usr/bin/redis-server";

    private RedisGuest() {
    }

    /** Starts redis-server in {@code vm} and returns once it answers PING from inside the namespace. */
    static void start(GuestVm vm) {
        Process server = vm.spawn("redis.log", REDIS_SERVER, "--bind", vm.guestIp(), "--port", "6379",
                "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
                "--dir", vm.dir().toString());
        try {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .failFast(() -> !server.isAlive())
                    .until(() -> vm.exec("redis-cli", "-h", vm.guestIp(), "-p", "6379", "PING").stdout().strip()
                            .equals("PONG"));
        } catch (RuntimeException e) {
            throw new IllegalStateException("redis-server did not start in " + vm.netns() + ": "
                    + readQuietly(vm.dir().resolve("redis.log")), e);
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }
}

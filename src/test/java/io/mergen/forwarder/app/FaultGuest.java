package io.mergen.forwarder.app;

import io.mergen.forwarder.netns.TestNamespace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;

/**
 * A VM whose guest is a socket server in this test's JVM, bound inside the VM's namespace, so a test can make the
 * guest misbehave precisely (never accept, reset mid-response, stop reading); {@link #close()} closes its sockets
 * and deletes the namespace.
 */
final class FaultGuest implements AutoCloseable {
    /** One connection's script: what the guest does with an accepted socket. */
    interface Conversation {
        void run(Socket connection) throws Exception;
    }

    private final String id = UUID.randomUUID().toString();
    private final String label;
    private final TestNamespace namespace;
    private final List<AutoCloseable> sockets = Collections.synchronizedList(new ArrayList<>());

    private FaultGuest(String label, TestNamespace namespace) {
        this.label = label;
        this.namespace = namespace;
    }

    /** A namespace {@code mfwd-f25-<hex>} with {@code guestIp} on its loopback and no server yet. */
    static FaultGuest create(String label, String guestIp) {
        return new FaultGuest(label, TestNamespace.create("mfwd-f25", guestIp + "/32"));
    }

    String id() {
        return id;
    }

    String label() {
        return label;
    }

    String netns() {
        return namespace.name();
    }

    /** Runs a command inside the namespace and returns its output. */
    String exec(String... command) {
        return namespace.exec(command);
    }

    /**
     * Sets a network sysctl of this namespace only ({@code net.ipv4.tcp_rmem}); /proc/sys/net shows the namespace
     * of the process that opens it. Fails unless the value reads back as written.
     */
    void sysctl(String key, String value) {
        if (!key.matches("net(\\.[a-z0-9_]+)+") || !value.matches("[0-9 ]+")) {
            throw new IllegalArgumentException("sysctl: " + key + "=" + value + " (expected: net.*, numbers)");
        }
        String file = "/proc/sys/" + key.replace('.', '/');
        exec("sh", "-c", "echo '" + value + "' > " + file);
        String now = exec("cat", file).strip();
        if (!List.of(now.split("\\s+")).equals(List.of(value.split(" +")))) {
            throw new IllegalStateException(key + " in " + netns() + " reads " + now + " after writing " + value);
        }
    }

    /** A server socket on the guest address that nobody accepts from unless the test says so. */
    ServerSocketChannel listen(int port, int backlog) {
        ServerSocketChannel server = namespace.listen(port, backlog);
        sockets.add(server);
        return server;
    }

    /** A client socket made inside the namespace and connected to the guest address (blocking). */
    SocketChannel connectFromInside(int port) {
        SocketChannel client = namespace.inside(() -> {
            SocketChannel channel = SocketChannel.open();
            try {
                channel.connect(new InetSocketAddress(namespace.guestAddress(), port));
                return channel;
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        });
        sockets.add(client);
        return client;
    }

    /** Serves every connection to {@code port} with {@code conversation}, each on its own thread. */
    void serve(int port, Conversation conversation) {
        serve(listen(port, 50), conversation);
    }

    /** Starts accepting on a server socket of this guest (one that did not accept so far, say). */
    void serve(ServerSocketChannel server, Conversation conversation) {
        Thread.ofPlatform().daemon().name("guest-" + label).start(() -> {
            while (server.isOpen()) {
                Socket connection;
                try {
                    connection = server.accept().socket();
                } catch (IOException closed) {
                    return;
                }
                sockets.add(connection);
                Thread.ofPlatform().daemon().name("guest-" + label + "-conn").start(() -> {
                    try (connection) {
                        conversation.run(connection);
                    } catch (Exception e) {
                        // The client or the test closed the connection first; the test checks what it saw.
                    }
                });
            }
        });
    }

    /** Writes meta.json for this VM with {@code tags.app} = its label, atomically as the VM manager does. */
    void writeMeta(Path configRoot, String createdAt) {
        String json = """
                {"id": "%s", "createdAt": "%s", "guestIP": "%s", "netns": "%s", "tags": {"app": "%s"}}
                """.formatted(id, createdAt, namespace.guestAddress().getHostAddress(), namespace.name(), label);
        try {
            Path folder = Files.createDirectories(configRoot.resolve(id));
            Path tmp = folder.resolve("meta.json.tmp");
            Files.writeString(tmp, json);
            Files.move(tmp, folder.resolve("meta.json"), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        synchronized (sockets) {
            for (AutoCloseable socket : sockets) {
                try {
                    socket.close();
                } catch (Exception ignored) {
                    // closing what is already closed during cleanup
                }
            }
        }
        namespace.close();
    }
}

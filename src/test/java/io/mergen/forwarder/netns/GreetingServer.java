package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Serves a bound server socket: writes a greeting to each connection, then echoes what it reads until EOF. */
public final class GreetingServer implements AutoCloseable {
    private final ServerSocketChannel server;
    private final byte[] greeting;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;

    private GreetingServer(ServerSocketChannel server, String greeting) {
        this.server = server;
        this.greeting = greeting.getBytes(StandardCharsets.UTF_8);
        this.acceptor = Thread.ofPlatform().name("greeting-acceptor").daemon().unstarted(this::acceptLoop);
    }

    /** Starts serving {@code server} (blocking mode, already bound, e.g. from {@link TestNamespace#listen}). */
    public static GreetingServer start(ServerSocketChannel server, String greeting) {
        GreetingServer greetingServer = new GreetingServer(requireNonNull(server, "server"),
                requireNonNull(greeting, "greeting"));
        greetingServer.acceptor.start();
        return greetingServer;
    }

    public InetSocketAddress address() {
        try {
            return (InetSocketAddress) server.getLocalAddress();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            SocketChannel connection;
            try {
                connection = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                continue;
            }
            connections.add(connection);
            Thread.ofVirtual().start(() -> serve(connection));
        }
    }

    private void serve(SocketChannel connection) {
        try (connection) {
            connection.write(ByteBuffer.wrap(greeting));
            ByteBuffer buffer = ByteBuffer.allocate(4096);
            while (connection.read(buffer) >= 0) {
                buffer.flip();
                while (buffer.hasRemaining()) {
                    connection.write(buffer);
                }
                buffer.clear();
            }
        } catch (IOException e) {
            // The client reset or closed mid-write; nothing to do but close.
        } finally {
            connections.remove(connection);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel connection : connections) {
            connection.close();
        }
    }
}

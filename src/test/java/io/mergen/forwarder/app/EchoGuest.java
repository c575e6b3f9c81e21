package io.mergen.forwarder.app;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A guest service on loopback that echoes every byte back, one virtual thread per connection, until closed. */
final class EchoGuest implements AutoCloseable {
    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;

    private EchoGuest(ServerSocket server) {
        this.server = server;
        this.acceptor = Thread.ofPlatform().daemon().name("echo-guest-accept").start(this::acceptLoop);
    }

    static EchoGuest start() {
        try {
            ServerSocket server = new ServerSocket();
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            return new EchoGuest(server);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    /** Connections the guest holds right now; one ends when the forwarder closes or half-closes its side. */
    int openConnections() {
        return open.size();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket conn = server.accept();
                open.add(conn);
                Thread.ofVirtual().start(() -> echo(conn));
            } catch (IOException e) {
                // closed: the loop ends
            }
        }
    }

    private void echo(Socket conn) {
        try (conn) {
            InputStream in = conn.getInputStream();
            OutputStream out = conn.getOutputStream();
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // a reset from the forwarder ends this connection like an end of stream
        } finally {
            open.remove(conn);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket conn : open) {
            conn.close();
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

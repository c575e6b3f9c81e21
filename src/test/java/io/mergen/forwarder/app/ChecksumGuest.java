package io.mergen.forwarder.app;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A loopback guest that checks what it receives and sends what it is asked for, both at once, one virtual thread
 * per direction.
 *
 * <p>The client sends {@code upLength:long downLength:long downOffset:int}, then {@code upLength} bytes, then their
 * SHA-256. The guest sends {@code downLength} bytes of {@link #pattern} from {@code downOffset} (wrapping), their
 * SHA-256, and last the SHA-256 of the upload as it arrived, then closes. Every connection leaves a
 * {@link Received} record, so the test can check the guest's side as well.
 */
final class ChecksumGuest implements AutoCloseable {
    /** What the guest saw on one connection: the upload's length and whether its checksum matched the client's. */
    record Received(long upLength, boolean intact, String detail) {
    }

    private final byte[] pattern;
    private final ServerSocket server;
    private final ExecutorService connections = Executors.newVirtualThreadPerTaskExecutor();
    private final Queue<Received> received = new ConcurrentLinkedQueue<>();
    private final Thread acceptor;

    ChecksumGuest(byte[] pattern) throws IOException {
        this.pattern = pattern;
        server = new ServerSocket();
        server.bind(new InetSocketAddress("127.0.0.1", 0), 4096);
        acceptor = Thread.ofPlatform().daemon().name("checksum-guest").start(this::acceptAll);
    }

    int port() {
        return server.getLocalPort();
    }

    Queue<Received> received() {
        return received;
    }

    private void acceptAll() {
        while (!server.isClosed()) {
            try {
                Socket connection = server.accept();
                connections.submit(() -> serve(connection));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket connection) {
        try (connection) {
            connection.setSoTimeout(120_000);
            connection.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(connection.getInputStream());
            long upLength = in.readLong();
            long downLength = in.readLong();
            int downOffset = in.readInt();
            OutputStream out = connection.getOutputStream();
            Future<?> sending = connections.submit(() -> {
                out.write(sendPattern(out, pattern, downOffset, downLength));
                return null;
            });
            MessageDigest digest = sha256();
            byte[] buffer = new byte[64 * 1024];
            for (long left = upLength; left > 0; ) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    throw new IOException("upload ended after " + (upLength - left) + " of " + upLength + " bytes");
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
            byte[] arrived = digest.digest();
            byte[] claimed = in.readNBytes(32);
            sending.get();
            out.write(arrived);
            out.flush();
            boolean intact = Arrays.equals(arrived, claimed);
            received.add(new Received(upLength, intact, intact ? "" : "arrived " + HexFormat.of().formatHex(arrived)
                    + ", client sent " + HexFormat.of().formatHex(claimed)));
        } catch (Exception e) {
            received.add(new Received(-1, false, e.toString()));
        }
    }

    /** Writes {@code length} bytes of {@code pattern} from {@code offset}, wrapping; returns their SHA-256. */
    static byte[] sendPattern(OutputStream out, byte[] pattern, int offset, long length) throws IOException {
        MessageDigest digest = sha256();
        int at = offset;
        for (long left = length; left > 0; ) {
            int n = (int) Math.min(Math.min(64 * 1024, left), pattern.length - at);
            out.write(pattern, at, n);
            digest.update(pattern, at, n);
            left -= n;
            at = (at + n) % pattern.length;
        }
        out.flush();
        return digest.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        connections.shutdownNow();
        try {
            acceptor.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;

/**
 * An HTTPS download through the forwarder that a test keeps open across a fault elsewhere: the body is read at a
 * slow, steady pace until {@link #finish()}, then at full speed, and its length and SHA-256 are reported, so the
 * test sees both that bytes kept flowing during the fault and that they arrived intact.
 */
final class SteadyDownload implements AutoCloseable {
    /** About 1.6 MiB/s: a 32 MiB body lasts some 20 s unless the test finishes it sooner. */
    private static final int CHUNK = 16 * 1024;
    private static final long PACE_MILLIS = 10;

    /** How the download ended: bytes of body read, the Content-Length announced, and what stopped it. */
    record Result(long bytes, long contentLength, String sha256, String failure) {
        boolean complete() {
            return failure == null && bytes == contentLength;
        }
    }

    private final SSLSocket socket;
    private final AtomicLong bytes = new AtomicLong();
    private final CountDownLatch finishing = new CountDownLatch(1);
    private final CompletableFuture<Result> result = new CompletableFuture<>();

    private SteadyDownload(SSLSocket socket) {
        this.socket = socket;
    }

    /** Sends GET {@code path} to {@code host} (as SNI and Host) on the forwarder's port and starts reading the body. */
    static SteadyDownload start(Path caFile, int port, String host, String path) throws IOException {
        SSLSocket socket = (SSLSocket) TestCertificates.trustingClient(caFile).getSocketFactory()
                .createSocket("127.0.0.1", port);
        try {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(host)));
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(30_000);
            socket.startHandshake();
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        SteadyDownload download = new SteadyDownload(socket);
        Thread.ofPlatform().daemon().name("steady-" + host).start(download::read);
        return download;
    }

    /** Body bytes read so far. */
    long bytes() {
        return bytes.get();
    }

    /** Waits until at least {@code more} further body bytes have arrived: the connection is still carrying data. */
    void awaitProgress(long more) {
        long target = bytes.get() + more;
        await().alias("steady download to pass " + target + " bytes (ended: " + result.getNow(null) + ")")
                .atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> bytes.get() >= target || result.isDone());
        if (bytes.get() < target) {
            throw new AssertionError("steady download ended after " + bytes.get() + " bytes, before " + target
                    + ": " + result.getNow(null));
        }
    }

    /** Stops pacing, reads the rest and returns how it ended (waits up to 60 s). */
    Result finish() throws Exception {
        finishing.countDown();
        return result.get(60, TimeUnit.SECONDS);
    }

    /** Waits for the download to end by itself (the server closed), without speeding it up. */
    Result awaitEnd(Duration atMost) throws Exception {
        return result.get(atMost.toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean ended() {
        return result.isDone();
    }

    private void read() {
        MessageDigest digest = sha256();
        long contentLength = -1;
        try {
            InputStream in = new BufferedInputStream(socket.getInputStream(), CHUNK);
            contentLength = contentLength(readHead(in));
            byte[] buffer = new byte[CHUNK];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
                bytes.addAndGet(n);
                // Pacing, not waiting for an event: the transfer must stay in progress while the fault happens.
                finishing.await(finishing.getCount() == 0 ? 0 : PACE_MILLIS, TimeUnit.MILLISECONDS);
            }
            result.complete(new Result(bytes.get(), contentLength, HexFormat.of().formatHex(digest.digest()),
                    bytes.get() == contentLength ? null : "end of stream before Content-Length"));
        } catch (IOException | InterruptedException | RuntimeException e) {
            result.complete(new Result(bytes.get(), contentLength, HexFormat.of().formatHex(digest.digest()),
                    e.toString()));
        } finally {
            // Our side ends too, as a client does after the response: the forwarder then logs the connection.
            closeQuietly();
        }
    }

    private void closeQuietly() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed by the test or reset by the peer
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < end.length) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed in the response head: " + head);
            }
            head.write(b);
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        if (!text.startsWith("HTTP/1.1 200")) {
            throw new IOException("not a 200 response: " + text);
        }
        return text;
    }

    private static long contentLength(String head) throws IOException {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            }
        }
        throw new IOException("no Content-Length in " + head);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        finishing.countDown();
        socket.close();
    }
}

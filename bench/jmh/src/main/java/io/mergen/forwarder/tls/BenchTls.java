package io.mergen.forwarder.tls;

import static io.mergen.forwarder.Bench.run;


import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * TLS material for the benchmarks: an ECDSA P-256 certificate and server context as the forwarder builds them, and
 * a real ClientHello as OpenSSL's client (curl, wrk, psql) sends it.
 */
public final class BenchTls {
    private static final int TIMEOUT_MILLIS = 10_000;
    private static final int RECORD_HEADER = 5;
    private static final int HANDSHAKE = 22;

    private BenchTls() {}

    /** A self-signed ECDSA P-256 certificate for {@code *.<domain>}, written into {@code dir} by the openssl CLI. */
    public static KeyMaterial issue(Path dir, String domain) {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", "/CN=*." + domain, "-addext", "subjectAltName=DNS:*." + domain,
                "-keyout", key.toString(), "-out", cert.toString());
        return KeyMaterial.load(cert, key);
    }

    /** The server context the forwarder would build (no ALPN), with the TLS library it would pick. */
    public static SslContext serverContext(KeyMaterial material) {
        return ServerTls.serverContext(material, List.of(), TlsOptions.defaults());
    }

    /** The same with a chosen provider, e.g. OPENSSL_REFCNT to compare with the forwarder's OPENSSL. */
    public static SslContext serverContext(KeyMaterial material, SslProvider provider) {
        return ServerTls.serverContext(material, List.of(), TlsOptions.defaults(), provider);
    }

    /**
     * The first TLS record {@code openssl s_client -servername serverName} sends: its ClientHello (TLS 1.3 and 1.2
     * offered, an X25519 key share). Caught on a loopback socket; the client is stopped right after.
     */
    public static byte[] clientHello(String serverName) {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(TIMEOUT_MILLIS);
            // stdin stays an open pipe, so s_client waits for the server instead of quitting at end of input.
            Process client = new ProcessBuilder("openssl", "s_client", "-connect",
                    "127.0.0.1:" + server.getLocalPort(), "-servername", serverName)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try (Socket socket = server.accept()) {
                socket.setSoTimeout(TIMEOUT_MILLIS);
                InputStream in = socket.getInputStream();
                byte[] header = in.readNBytes(RECORD_HEADER);
                if (header.length < RECORD_HEADER || header[0] != HANDSHAKE) {
                    throw new IllegalStateException("openssl s_client sent no TLS handshake record: "
                            + Arrays.toString(header));
                }
                int length = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
                byte[] body = in.readNBytes(length);
                if (body.length < length) {
                    throw new IllegalStateException("openssl s_client's ClientHello ended after " + body.length
                            + " of " + length + " bytes");
                }
                byte[] record = Arrays.copyOf(header, RECORD_HEADER + length);
                System.arraycopy(body, 0, record, RECORD_HEADER, length);
                return record;
            } finally {
                client.destroyForcibly();
                client.waitFor(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("capturing a ClientHello from openssl s_client: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

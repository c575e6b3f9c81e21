package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** JDK TLS clients for the soak tests: sockets with or without SNI, one HTTP/1.1 request, a bare ClientHello. */
final class SoakClients {
    private static final int TIMEOUT_MILLIS = 20_000;

    private SoakClients() {
    }

    /**
     * A client context trusting the test CA, with a one-entry session cache: the JDK's default cache keeps
     * up to 20,480 sessions for a day, which would show as heap growth that is the client's, not the forwarder's.
     * Use one context per server name ({@link PerServerName}): the JDK caches sessions by host and port
     * (127.0.0.1 and the forwarder's port here) and resumes one with that session's SNI, not the one the new
     * socket asks for (sun.security.ssl.ServerNameExtension), so another VM would be reached.
     */
    static SSLContext context(Path caFile) {
        SSLContext context = TestCertificates.trustingClient(caFile);
        context.getClientSessionContext().setSessionCacheSize(1);
        return context;
    }

    /** One client context per server name, made on first use; safe for concurrent clients. */
    static final class PerServerName {
        private final Path caFile;
        private final Map<String, SSLContext> contexts = new ConcurrentHashMap<>();

        PerServerName(Path caFile) {
            this.caFile = caFile;
        }

        /** Connects to the forwarder on {@code port} with SNI {@code serverName} (null: none). */
        SSLSocket connect(int port, String serverName) throws IOException {
            SSLContext context = contexts.computeIfAbsent(String.valueOf(serverName), name -> context(caFile));
            return SoakClients.connect(context, port, serverName);
        }
    }

    /** A connected, handshaken socket; {@code serverName} null sends no SNI (the JDK sends none for an IP literal). */
    static SSLSocket connect(SSLContext context, int port, String serverName) throws IOException {
        return connect(context, port, serverName, 0);
    }

    /** Like {@link #connect(SSLContext, int, String)}, with a receive buffer of that size when it is not 0. */
    static SSLSocket connect(SSLContext context, int port, String serverName, int receiveBuffer) throws IOException {
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket();
        try {
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer); // before connect, so the window is sized from the start
            }
            socket.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MILLIS);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(serverName == null ? List.of() : List.of(new SNIHostName(serverName)));
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(TIMEOUT_MILLIS);
            // Without it the request after the Finished message waits for a delayed ACK: 40 ms a connection.
            socket.setTcpNoDelay(true);
            socket.startHandshake();
            return socket;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    record Response(int status, String body) {
    }

    /** Sends {@code GET path} with {@code Connection: close} and reads the answer to the end of the stream. */
    static Response get(SSLSocket socket, String host, String path) throws IOException {
        String request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
        socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return parse(readToEnd(socket.getInputStream()));
    }

    static Response parse(byte[] raw) {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int headEnd = text.indexOf("\r\n\r\n");
        if (!text.startsWith("HTTP/1.1 ") || headEnd < 0) {
            throw new IllegalStateException("not an HTTP/1.1 response: \"" + text.substring(0, Math.min(200, text.length())) + "\"");
        }
        int status = Integer.parseInt(text.substring(9, 12));
        String body = new String(Arrays.copyOfRange(raw, headEnd + 4, raw.length), StandardCharsets.UTF_8);
        return new Response(status, body);
    }

    /** Reads until end of stream; a reset after the response (the server's close racing ours) ends it as well. */
    private static byte[] readToEnd(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                out.write(buffer, 0, n);
            }
        } catch (SSLException | SocketException e) {
            if (out.size() == 0) {
                throw e;
            }
        }
        return out.toByteArray();
    }

    /** The first flight of a TLS client for {@code serverName}: a ClientHello record, as a client would send it. */
    static byte[] clientHello(SSLContext context, String serverName) {
        SSLEngine engine = context.createSSLEngine(serverName, 443);
        engine.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        try {
            engine.beginHandshake();
            engine.wrap(ByteBuffer.allocate(0), out);
        } catch (SSLException e) {
            throw new UncheckedIOException(e);
        }
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        return hello;
    }
}

package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * The short plain-text HTTP responses the HTTPS listener sends when it cannot relay, as the original
 * forwarder did: 421 without SNI, 404 for a name it does not serve, 502 when the VM cannot be dialed.
 */
final class HttpsRefusal {
    private HttpsRefusal() {
    }

    static ByteBuf encode(ByteBufAllocator alloc, Refusal refusal) {
        String status = switch (refusal.reason()) {
            case NO_SNI -> "421 Misdirected Request";
            case UNKNOWN_NAME -> "404 Not Found";
            case UNREACHABLE -> "502 Bad Gateway";
            case OVERLOADED -> "503 Service Unavailable";
        };
        return response(alloc, status, refusal.message());
    }

    /** What nginx also answers when plain HTTP reaches a TLS port, sent in the clear so the client can read it. */
    static ByteBuf plainHttpOnTlsPort(ByteBufAllocator alloc) {
        return response(alloc, "400 Bad Request", "this port speaks HTTPS: use https://");
    }

    private static ByteBuf response(ByteBufAllocator alloc, String status, String message) {
        byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + "\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + body.length + "\r\n"
                + "Connection: close\r\n"
                + "\r\n";
        ByteBuf out = alloc.buffer(head.length() + body.length);
        out.writeCharSequence(head, StandardCharsets.US_ASCII);
        out.writeBytes(body);
        return out;
    }
}

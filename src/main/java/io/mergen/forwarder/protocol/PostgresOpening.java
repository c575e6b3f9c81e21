package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Opens a Postgres connection the way libpq does, before any TLS: answers an SSLRequest with {@code S} and
 * GSSENCRequest with {@code N}, recognises direct TLS (libpq 17 {@code sslnegotiation=direct}) by its first
 * byte, sends a clear-text CancelRequest to the VM that issued its key, and refuses a clear-text
 * StartupMessage with an ErrorResponse. Then it hands the connection to the TLS stage and leaves.
 *
 * <p>Packet layout: int32 length (including itself), int32 code
 * (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL).
 */
public final class PostgresOpening extends ByteToMessageDecoder {
    /** A TLS record starts with content type 22 (handshake); no Postgres packet length starts with it. */
    private static final int TLS_HANDSHAKE = 0x16;
    /** Postgres itself rejects startup packets longer than 10,000 bytes (MAX_STARTUP_PACKET_LENGTH). */
    private static final int MAX_PACKET = 10_000;
    private static final int MIN_CANCEL = 16;
    private static final int MAX_CANCEL = 8 + 4 + 256;

    private final Supplier<ChannelHandler> tlsStage;
    private final CancelRouter cancels;
    private final String tlsHint;
    private final Duration timeout;
    private ScheduledFuture<?> timer;
    /** A cancel was routed or the client refused: whatever else it sends (now or at close) is not read. */
    private boolean finished;

    /**
     * @param tlsStage the handler that reads the ClientHello next
     * @param tlsHint  how to connect properly, for the error a clear-text client gets
     * @param timeout  how long a client may take to start TLS (the handshake timeout)
     */
    public PostgresOpening(Supplier<ChannelHandler> tlsStage, CancelRouter cancels, String tlsHint, Duration timeout) {
        this.tlsStage = tlsStage;
        this.cancels = cancels;
        this.tlsHint = tlsHint;
        this.timeout = timeout;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        timer = ctx.executor().schedule(() -> {
            ctx.fireUserEventTriggered(new OpeningRefused("no TLS request within " + timeout.toSeconds() + "s"));
            ctx.close();
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        timer.cancel(false);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (finished) {
            // The decoder loops over what is left and decodes again on close; nothing after the end counts.
            in.skipBytes(in.readableBytes());
            return;
        }
        if (!in.isReadable()) {
            return;
        }
        if (in.getUnsignedByte(in.readerIndex()) == TLS_HANDSHAKE) {
            startTls(ctx);
            return;
        }
        if (in.readableBytes() < 8) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        int code = in.getInt(in.readerIndex() + 4);
        if (length == 8 && code == PostgresMessages.SSL_REQUEST) {
            in.skipBytes(8);
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'S'}));
            startTls(ctx);
        } else if (length == 8 && code == PostgresMessages.GSSENC_REQUEST) {
            // No GSSAPI encryption here; libpq then tries SSLRequest on the same connection.
            in.skipBytes(8);
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
        } else if (code == PostgresMessages.CANCEL_REQUEST && length >= MIN_CANCEL && length <= MAX_CANCEL) {
            if (in.readableBytes() >= length) {
                byte[] key = new byte[length - 8];
                in.getBytes(in.readerIndex() + 8, key);
                ByteBuf request = in.readRetainedSlice(length);
                timer.cancel(false);
                finished = true;
                in.skipBytes(in.readableBytes());
                cancels.route(ctx, key, request);
            }
        } else if (length < 8 || length > MAX_PACKET) {
            refuse(ctx, in, PostgresMessages.PROTOCOL_VIOLATION, "invalid startup packet length " + length);
        } else if (code >>> 16 == PostgresMessages.PROTOCOL_MAJOR_3) {
            refuse(ctx, in, PostgresMessages.INVALID_AUTHORIZATION, tlsHint);
        } else {
            refuse(ctx, in, PostgresMessages.PROTOCOL_VIOLATION,
                    "unsupported startup packet (code " + code + "); " + tlsHint);
        }
    }

    private void startTls(ChannelHandlerContext ctx) {
        // Replacing hands what we buffered beyond the SSLRequest (the ClientHello, if it came along) onward.
        ctx.pipeline().replace(this, "sni", tlsStage.get());
    }

    private void refuse(ChannelHandlerContext ctx, ByteBuf in, String sqlState, String message) {
        finished = true;
        in.skipBytes(in.readableBytes());
        ctx.fireUserEventTriggered(new OpeningRefused(message));
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(PostgresMessages.fatal(ctx.alloc(), sqlState, message))
                .addListener(ChannelFutureListener.CLOSE);
    }
}

package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Watches a Postgres guest's startup replies for BackendKeyData and remembers the key for cancel routing;
 * passes every byte on untouched and steps aside at ReadyForQuery.
 *
 * <p>Messages after startup are framed as type (1 byte) and int32 length including itself
 * (protocol-message-formats.html). Reads may split a message anywhere, so the frame header and the key are
 * collected across reads.
 */
public final class BackendKeySniffer extends ChannelInboundHandlerAdapter {
    /** Startup (auth exchange, parameters, key) is small; a guest that sends more is not speaking Postgres. */
    private static final long MAX_STARTUP_BYTES = 1 << 20;
    /** Protocol 3.2 allows secret keys of up to 256 bytes, after the 4-byte process id. */
    private static final int MAX_KEY_LENGTH = 4 + 256;

    private final CancelKeys keys;
    private final CancelKeys.Target target;
    private final byte[] header = new byte[5];
    private int headerFilled;
    private long bodyLeft;
    private byte[] key;
    private int keyFilled;
    private long seen;

    public BackendKeySniffer(CancelKeys keys, CancelKeys.Target target) {
        this.keys = keys;
        this.target = target;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            boolean done = scan(ctx, buf, buf.readerIndex(), buf.writerIndex());
            seen += buf.readableBytes();
            if (done || seen > MAX_STARTUP_BYTES) {
                ctx.pipeline().remove(this);
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Walks the frames in {@code [from, to)} without consuming them; true once startup is over. */
    private boolean scan(ChannelHandlerContext ctx, ByteBuf buf, int from, int to) {
        int at = from;
        while (at < to) {
            if (bodyLeft > 0) {
                int take = (int) Math.min(bodyLeft, to - at);
                if (key != null) {
                    int copy = Math.min(take, key.length - keyFilled);
                    buf.getBytes(at, key, keyFilled, copy);
                    keyFilled += copy;
                }
                at += take;
                bodyLeft -= take;
                if (bodyLeft == 0 && key != null) {
                    remember(ctx, key);
                    key = null;
                }
                continue;
            }
            header[headerFilled++] = buf.getByte(at++);
            if (headerFilled < header.length) {
                continue;
            }
            headerFilled = 0;
            char type = (char) header[0];
            long length = ((header[1] & 0xffL) << 24) | ((header[2] & 0xff) << 16) | ((header[3] & 0xff) << 8)
                    | (header[4] & 0xff);
            if (length < 4) {
                return true; // not a Postgres frame: stop looking, keep relaying
            }
            bodyLeft = length - 4;
            if (type == 'K' && bodyLeft >= 8 && bodyLeft <= MAX_KEY_LENGTH) {
                key = new byte[(int) bodyLeft];
                keyFilled = 0;
            }
            if (type == 'Z' || type == 'E') {
                return true; // ReadyForQuery ends startup; an ErrorResponse ends the connection
            }
        }
        return false;
    }

    private void remember(ChannelHandlerContext ctx, byte[] backendKey) {
        keys.register(backendKey, target);
        ctx.channel().closeFuture().addListener(f -> keys.unregister(backendKey, target));
    }
}

package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A fatal TLS alert record sent in the clear before any ServerHello, which is how a server refuses a
 * ClientHello it will not serve (RFC 8446 section 6, RFC 6066 section 3 for unrecognized_name).
 */
public final class TlsAlert {
    /** RFC 8446 section 6: AlertDescription unrecognized_name. */
    public static final int UNRECOGNIZED_NAME = 112;
    /** RFC 8446 section 6: AlertDescription internal_error. */
    public static final int INTERNAL_ERROR = 80;

    private static final int CONTENT_TYPE_ALERT = 21;
    private static final int LEVEL_FATAL = 2;

    private TlsAlert() {
    }

    public static ByteBuf fatal(ByteBufAllocator alloc, int description) {
        ByteBuf record = alloc.buffer(7);
        record.writeByte(CONTENT_TYPE_ALERT);
        record.writeShort(0x0303); // legacy_record_version TLS 1.2, as TLS 1.3 records also carry
        record.writeShort(2);
        record.writeByte(LEVEL_FATAL);
        record.writeByte(description);
        return record;
    }
}

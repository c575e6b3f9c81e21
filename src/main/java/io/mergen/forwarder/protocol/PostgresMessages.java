package io.mergen.forwarder.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * The few Postgres wire-protocol messages the forwarder speaks itself
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html).
 */
final class PostgresMessages {
    /** Request codes of the untyped first packet: int32 length, int32 code. */
    static final int SSL_REQUEST = 80877103;
    static final int GSSENC_REQUEST = 80877104;
    static final int CANCEL_REQUEST = 80877102;
    /** Protocol 3.x StartupMessages carry the major version 3 in the code's high 16 bits. */
    static final int PROTOCOL_MAJOR_3 = 3;

    /** SQLSTATE 28000 invalid_authorization_specification: what pg_hba.conf rejections use too. */
    static final String INVALID_AUTHORIZATION = "28000";
    /** SQLSTATE 08004 sqlserver_rejected_establishment_of_sqlconnection. */
    static final String REJECTED_CONNECTION = "08004";
    /** SQLSTATE 08006 connection_failure. */
    static final String CONNECTION_FAILURE = "08006";
    /** SQLSTATE 53300 too_many_connections. */
    static final String TOO_MANY_CONNECTIONS = "53300";
    /** SQLSTATE 08P01 protocol_violation. */
    static final String PROTOCOL_VIOLATION = "08P01";

    private PostgresMessages() {
    }

    /** ErrorResponse ('E') with severity FATAL, a SQLSTATE and a message: the fields psql shows. */
    static ByteBuf fatal(ByteBufAllocator alloc, String sqlState, String message) {
        ByteBuf out = alloc.buffer(64 + message.length() * 3);
        out.writeByte('E');
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        field(out, 'S', "FATAL");
        field(out, 'V', "FATAL");
        field(out, 'C', sqlState);
        field(out, 'M', message);
        out.writeByte(0);
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
        return out;
    }

    static ByteBuf refusal(ByteBufAllocator alloc, Refusal refusal) {
        String sqlState = switch (refusal.reason()) {
            case NO_SNI, UNKNOWN_NAME -> REJECTED_CONNECTION;
            case UNREACHABLE -> CONNECTION_FAILURE;
            case OVERLOADED -> TOO_MANY_CONNECTIONS;
        };
        return fatal(alloc, sqlState, refusal.message());
    }

    private static void field(ByteBuf out, char type, String value) {
        out.writeByte(type);
        // Strings are NUL-terminated: a NUL inside would end the field early.
        out.writeCharSequence(value.replace('\0', ' '), StandardCharsets.UTF_8);
        out.writeByte(0);
    }
}

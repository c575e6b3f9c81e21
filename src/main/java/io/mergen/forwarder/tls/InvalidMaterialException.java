package io.mergen.forwarder.tls;

/**
 * Reports why certificate or key text could not be decoded; {@link KeyMaterial} turns it into a configuration error
 * naming the variable and file, which only it knows.
 */
final class InvalidMaterialException extends RuntimeException {
    InvalidMaterialException(String reason) {
        super(reason);
    }

    InvalidMaterialException(String reason, Throwable cause) {
        super(reason, cause);
    }
}

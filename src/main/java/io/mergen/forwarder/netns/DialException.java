package io.mergen.forwarder.netns;

import java.io.IOException;

/** Signals that a backend could not be dialed inside a VM's network namespace; the message says why. */
public final class DialException extends IOException {
    private static final long serialVersionUID = 1L;

    public DialException(String message) {
        super(message);
    }

    public DialException(String message, Throwable cause) {
        super(message, cause);
    }
}

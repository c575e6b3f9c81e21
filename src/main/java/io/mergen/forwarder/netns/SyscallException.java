package io.mergen.forwarder.netns;

import java.io.IOException;

/** Reports a failed libc call together with its errno. */
final class SyscallException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    SyscallException(String call, int errno) {
        super(call + ": " + Errno.describe(errno));
        this.errno = errno;
    }

    int errno() {
        return errno;
    }

    /** The errno alone in words, e.g. {@code "ENOENT (No such file or directory)"}. */
    String reason() {
        return Errno.describe(errno);
    }
}

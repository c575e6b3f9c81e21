package io.mergen.forwarder.netns;

import java.util.Map;

/**
 * Turns the errno values that open(), setns() and close() can return into words.
 *
 * <p>A table rather than strerror(): strerror() is not thread-safe, and strerror_r() comes in two incompatible
 * variants (GNU and XSI); these few values are the same on every Linux architecture we run on.
 */
final class Errno {
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EBADF = 9;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int ENOTDIR = 20;
    static final int EINVAL = 22;
    static final int ENFILE = 23;
    static final int EMFILE = 24;
    static final int ENAMETOOLONG = 36;
    static final int ELOOP = 40;

    private static final Map<Integer, String> DESCRIPTIONS = Map.ofEntries(
            Map.entry(EPERM, "EPERM (Operation not permitted)"),
            Map.entry(ENOENT, "ENOENT (No such file or directory)"),
            Map.entry(EBADF, "EBADF (Bad file descriptor)"),
            Map.entry(ENOMEM, "ENOMEM (Cannot allocate memory)"),
            Map.entry(EACCES, "EACCES (Permission denied)"),
            Map.entry(ENOTDIR, "ENOTDIR (Not a directory)"),
            Map.entry(EINVAL, "EINVAL (Invalid argument)"),
            Map.entry(ENFILE, "ENFILE (Too many open files in system)"),
            Map.entry(EMFILE, "EMFILE (Too many open files)"),
            Map.entry(ENAMETOOLONG, "ENAMETOOLONG (File name too long)"),
            Map.entry(ELOOP, "ELOOP (Too many levels of symbolic links)"));

    private Errno() {
    }

    static String describe(int errno) {
        String description = DESCRIPTIONS.get(errno);
        return description != null ? description : "errno " + errno;
    }
}

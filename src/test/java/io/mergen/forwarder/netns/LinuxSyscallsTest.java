package io.mergen.forwarder.netns;

import static io.mergen.forwarder.netns.LinuxSyscalls.CLONE_NEWNET;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_CLOEXEC;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_RDONLY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LinuxSyscallsTest {
    private static LinuxSyscalls syscalls;

    @BeforeAll
    static void load() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "libc syscalls need Linux");
        syscalls = LinuxSyscalls.load();
    }

    @Test
    void opensAndClosesAFile(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");

        int fd = syscalls.open(file.toString(), O_RDONLY | O_CLOEXEC);

        assertThat(fd).isNotNegative();
        assertThat(Path.of("/proc/self/fd", Integer.toString(fd)).toRealPath()).isEqualTo(file.toRealPath());
        syscalls.close(fd);
        assertThat(Path.of("/proc/self/fd", Integer.toString(fd))).doesNotExist();
    }

    @Test
    void openOfAMissingFileReportsEnoent(@TempDir Path dir) {
        String missing = dir.resolve("missing").toString();

        assertThatThrownBy(() -> syscalls.open(missing, O_RDONLY | O_CLOEXEC))
                .isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT))
                .hasMessage("open " + missing + ": ENOENT (No such file or directory)");
    }

    @Test
    void setnsOnARegularFileReportsEinval(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        int fd = syscalls.open(file.toString(), O_RDONLY | O_CLOEXEC);
        try {
            assertThatThrownBy(() -> syscalls.setns(fd, CLONE_NEWNET))
                    .isInstanceOfSatisfying(SyscallException.class,
                            e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
                    .hasMessage("setns fd " + fd + ": EINVAL (Invalid argument)");
        } finally {
            syscalls.close(fd);
        }
    }

    @Test
    void closeOfAnInvalidFdReportsEbadf() {
        assertThatThrownBy(() -> syscalls.close(-1))
                .isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF))
                .hasMessage("close fd -1: EBADF (Bad file descriptor)");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            1    | EPERM (Operation not permitted)
            2    | ENOENT (No such file or directory)
            22   | EINVAL (Invalid argument)
            24   | EMFILE (Too many open files)
            9999 | errno 9999
            """)
    void describesErrno(int errno, String description) {
        assertThat(Errno.describe(errno)).isEqualTo(description);
    }
}

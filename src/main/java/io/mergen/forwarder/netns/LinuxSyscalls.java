package io.mergen.forwarder.netns;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** Calls libc's open(), setns() and close() through the FFM API, reporting failures with their errno. */
final class LinuxSyscalls {
    static final int O_RDONLY = 0;
    /** The asm-generic value (x86-64, arm64, riscv64); only alpha, parisc and sparc differ. */
    static final int O_CLOEXEC = 0x80000;
    /** x86-64/arm64 value; a FIFO named as a namespace would otherwise block open() until a writer comes. */
    static final int O_NONBLOCK = 0x800;
    static final int CLONE_NEWNET = 0x40000000;

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private final MethodHandle open;
    private final MethodHandle setns;
    private final MethodHandle close;

    private LinuxSyscalls(MethodHandle open, MethodHandle setns, MethodHandle close) {
        this.open = open;
        this.setns = setns;
        this.close = close;
    }

    /**
     * Links the three libc functions.
     *
     * @throws IllegalStateException if a symbol is missing; other runtime exceptions if the platform has no FFM
     *         linker or native access is denied
     */
    @SuppressWarnings("restricted") // granted by --enable-native-access / the jar's Enable-Native-Access entry
    static LinuxSyscalls load() {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        // errno is thread-local and the JVM may overwrite it after the call returns: capture it inside the call.
        Linker.Option captureErrno = Linker.Option.captureCallState("errno");
        // open() is variadic (the mode follows flags); declaring it so keeps the calling convention right.
        MethodHandle open = linker.downcallHandle(symbol(libc, "open"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                captureErrno, Linker.Option.firstVariadicArg(2));
        MethodHandle setns = linker.downcallHandle(symbol(libc, "setns"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), captureErrno);
        MethodHandle close = linker.downcallHandle(symbol(libc, "close"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT), captureErrno);
        return new LinuxSyscalls(open, setns, close);
    }

    private static MemorySegment symbol(SymbolLookup libc, String name) {
        return libc.find(name).orElseThrow(() -> new IllegalStateException("libc has no symbol " + name));
    }

    /** Opens {@code path} and returns the file descriptor. */
    int open(String path, int flags) throws SyscallException {
        requireNonNull(path, "path");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment cPath = arena.allocateFrom(path);
            int fd;
            try {
                fd = (int) open.invokeExact(state, cPath, flags, 0);
            } catch (Throwable t) {
                throw unexpected("open", t);
            }
            if (fd < 0) {
                throw new SyscallException("open " + path, errno(state));
            }
            return fd;
        }
    }

    /** Moves the calling OS thread into the namespace that {@code fd} refers to. */
    void setns(int fd, int nsType) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int result;
            try {
                result = (int) setns.invokeExact(state, fd, nsType);
            } catch (Throwable t) {
                throw unexpected("setns", t);
            }
            if (result != 0) {
                throw new SyscallException("setns fd " + fd, errno(state));
            }
        }
    }

    void close(int fd) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int result;
            try {
                result = (int) close.invokeExact(state, fd);
            } catch (Throwable t) {
                throw unexpected("close", t);
            }
            if (result != 0) {
                throw new SyscallException("close fd " + fd, errno(state));
            }
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** A downcall declares Throwable but only fails on linkage bugs, never with a checked exception. */
    private static RuntimeException unexpected(String call, Throwable t) {
        if (t instanceof RuntimeException runtime) {
            return runtime;
        }
        if (t instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(call + " downcall failed", t);
    }
}

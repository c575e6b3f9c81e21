package io.mergen.forwarder.app;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Tells systemd about readiness ({@code READY=1}) and stopping ({@code STOPPING=1}) for {@code Type=notify}
 * units, through the datagram socket named by {@code NOTIFY_SOCKET} (sd_notify(3)). The JDK has no AF_UNIX
 * datagram sockets, so the few libc calls go through FFM. Without {@code NOTIFY_SOCKET} it does nothing.
 */
final class SystemdNotify {
    private static final Logger log = LoggerFactory.getLogger(SystemdNotify.class);
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    /** sizeof(struct sockaddr_un): sa_family_t then 108 bytes of path. */
    private static final int SOCKADDR_UN_SIZE = 110;
    private static final int PATH_MAX = 108;

    private final String socketPath;

    private SystemdNotify(String socketPath) {
        this.socketPath = socketPath;
    }

    static SystemdNotify fromEnvironment(String notifySocket) {
        return new SystemdNotify(notifySocket == null || notifySocket.isEmpty() ? null : notifySocket);
    }

    void ready() {
        send("READY=1\nSTATUS=listening");
    }

    void stopping() {
        send("STOPPING=1");
    }

    /** Sends one state line; a failure is logged, never thrown: systemd's view must not stop the forwarder. */
    void send(String state) {
        if (socketPath == null) {
            return;
        }
        try {
            sendDatagram(socketPath, state);
        } catch (Throwable e) {
            log.warn("could not notify systemd at {}: {}", socketPath, e.toString());
        }
    }

    @SuppressWarnings("restricted") // granted by --enable-native-access / the jar's Enable-Native-Access entry
    private static void sendDatagram(String path, String state) throws Throwable {
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        if (name.length >= PATH_MAX) {
            throw new IllegalArgumentException("NOTIFY_SOCKET path too long: " + path);
        }
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MethodHandle socket = linker.downcallHandle(libc.find("socket").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        MethodHandle sendto = linker.downcallHandle(libc.find("sendto").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        int fd = (int) socket.invokeExact(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new IllegalStateException("socket(AF_UNIX, SOCK_DGRAM) failed");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_UN_SIZE);
            address.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(name, 0, address, JAVA_BYTE, 2, name.length);
            if (name[0] == '@') {
                address.set(JAVA_BYTE, 2, (byte) 0); // abstract namespace
            }
            byte[] message = state.getBytes(StandardCharsets.UTF_8);
            MemorySegment buffer = arena.allocateFrom(JAVA_BYTE, message);
            long sent = (long) sendto.invokeExact(fd, buffer, (long) message.length, 0, address, 2 + name.length);
            if (sent != message.length) {
                throw new IllegalStateException("sendto to " + path + " failed");
            }
        } finally {
            int ignored = (int) close.invokeExact(fd);
        }
    }
}

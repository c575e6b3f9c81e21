package io.mergen.forwarder.netns;

import static io.mergen.forwarder.netns.LinuxSyscalls.CLONE_NEWNET;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_CLOEXEC;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_NONBLOCK;
import static io.mergen.forwarder.netns.LinuxSyscalls.O_RDONLY;
import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an action with the calling OS thread switched into a named network namespace, then switches it back.
 *
 * <p>Construct it on a thread that is still in the host namespace, before any switch: the constructor opens that
 * thread's namespace ({@code /proc/thread-self/ns/net}) once and every {@link #inside} returns to it.
 */
final class NetworkNamespaces implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NetworkNamespaces.class);

    private static final String HOST_NAMESPACE = "/proc/thread-self/ns/net";
    /** EX_SOFTWARE from sysexits.h: an internal error the process cannot recover from. */
    private static final int HALT_STATUS = 70;

    private final LinuxSyscalls syscalls;
    private final List<Path> roots;
    private final int hostFd;
    private final AtomicBoolean closed = new AtomicBoolean();

    NetworkNamespaces(LinuxSyscalls syscalls, List<Path> roots) throws SyscallException {
        this.syscalls = requireNonNull(syscalls, "syscalls");
        this.roots = List.copyOf(requireNonNull(roots, "roots"));
        if (this.roots.isEmpty()) {
            throw new IllegalArgumentException("roots: [] (expected: at least one directory)");
        }
        hostFd = syscalls.open(HOST_NAMESPACE, O_RDONLY | O_CLOEXEC);
    }

    /**
     * Runs {@code action} on the calling thread inside namespace {@code netnsName}, found as
     * {@code <root>/<netnsName>} in the first root that has it, and always returns the thread to the host namespace.
     * Sockets the action creates stay in the VM's namespace for their whole life.
     *
     * @throws DialException if the name is not a plain file name, no root has it, or it is not a network namespace
     * @throws IllegalStateException if called on a virtual thread
     */
    <T> T inside(String netnsName, Supplier<T> action) throws DialException {
        requireNonNull(netnsName, "netnsName");
        requireNonNull(action, "action");
        // setns() switches the OS thread; a virtual thread can be moved to another carrier at any blocking point,
        // leaving the namespace behind on a carrier that then runs unrelated code.
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("netns " + printable(netnsName)
                    + ": cannot switch namespaces on a virtual thread (a namespace belongs to an OS thread)");
        }
        validateName(netnsName);
        if (closed.get()) {
            throw new IllegalStateException("NetworkNamespaces closed");
        }
        NamespaceFile vm = open(netnsName);
        try {
            enter(vm);
            try {
                return action.get();
            } finally {
                returnToHost(netnsName);
            }
        } finally {
            closeQuietly(vm);
        }
    }

    /** An open namespace file and where it was found. */
    private record NamespaceFile(Path path, int fd) {
    }

    /**
     * Opens {@code <root>/<netnsName>} from the first root that has it. Opened anew on every call, never cached: an
     * open fd keeps a namespace alive after {@code ip netns del}, so a cache would leak deleted VMs' namespaces and
     * keep dialing into a stale one after a VM is recreated under the same name.
     */
    private NamespaceFile open(String netnsName) throws DialException {
        for (Path root : roots) {
            Path path = root.resolve(netnsName);
            try {
                // O_NONBLOCK: this runs on an event loop, and open() of a FIFO planted as a namespace would wait
                // for a writer; a real nsfs file opens at once either way, and setns() then refuses the FIFO.
                return new NamespaceFile(path, syscalls.open(path.toString(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
            } catch (SyscallException e) {
                // A missing root (ENOENT) or a root that is a file (ENOTDIR): try the next one.
                if (e.errno() != Errno.ENOENT && e.errno() != Errno.ENOTDIR) {
                    throw new DialException("cannot open netns " + path + ": " + e.reason(), e);
                }
            }
        }
        throw new DialException("netns " + netnsName + " not found in "
                + roots.stream().map(Path::toString).collect(Collectors.joining(", ")));
    }

    private void enter(NamespaceFile vm) throws DialException {
        Path path = vm.path();
        try {
            syscalls.setns(vm.fd(), CLONE_NEWNET);
        } catch (SyscallException e) {
            throw new DialException(switch (e.errno()) {
                case Errno.EINVAL -> path + " is not a network namespace";
                case Errno.EPERM -> "entering netns " + path + " is not permitted (needs CAP_SYS_ADMIN)";
                default -> "cannot enter netns " + path + ": " + e.reason();
            }, e);
        }
    }

    private void returnToHost(String netnsName) {
        try {
            syscalls.setns(hostFd, CLONE_NEWNET);
        } catch (SyscallException e) {
            haltInWrongNamespace(netnsName, e);
        }
    }

    /**
     * Stops the process at once. This thread (usually an event loop) stayed in a VM's namespace: every socket it
     * creates from now on would open there, so it could serve one VM's traffic into another. Throwing would keep
     * the thread alive and serving; halting lets the supervisor restart a clean process. Not expected to happen: the
     * same privileges entered the VM's namespace a moment ago, so only a kernel failure (e.g. ENOMEM) gets here.
     */
    private static void haltInWrongNamespace(String netnsName, SyscallException cause) {
        log.error("thread {} could not return from netns {} to the host namespace; halting with status {}",
                Thread.currentThread().getName(), netnsName, HALT_STATUS, cause);
        Runtime.getRuntime().halt(HALT_STATUS);
    }

    private void closeQuietly(NamespaceFile vm) {
        try {
            syscalls.close(vm.fd());
        } catch (SyscallException e) {
            log.warn("closing netns fd for {} failed", vm.path(), e);
        }
    }

    /** Closes the host namespace fd (once: a second close could hit a reused fd number). */
    @Override
    public void close() throws SyscallException {
        if (closed.compareAndSet(false, true)) {
            syscalls.close(hostFd);
        }
    }

    /** Accepts only a plain file name, so a name can never reach outside the roots. */
    static void validateName(String netnsName) throws DialException {
        String problem = problemWith(netnsName);
        if (problem != null) {
            throw new DialException("netns name \"" + printable(netnsName) + "\" is invalid: " + problem
                    + " (expected: a plain file name)");
        }
    }

    private static String problemWith(String name) {
        if (name.isEmpty()) {
            return "empty";
        }
        if (name.equals(".") || name.equals("..")) {
            return "a relative directory";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/') {
                return "contains '/'";
            }
            if (Character.isISOControl(c)) {
                return "contains a control character";
            }
        }
        return null;
    }

    /** Escapes control characters in a name for messages, so a log line cannot be split or forged. */
    static String printable(String name) {
        StringBuilder out = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isISOControl(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}

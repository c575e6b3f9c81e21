package io.mergen.forwarder.netns;

import static io.mergen.forwarder.netns.TestNamespace.currentThreadNetnsInode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class NetworkNamespacesTest {
    @TempDir
    Path dir;

    private final AtomicBoolean actionRan = new AtomicBoolean();
    private long hostInode;

    @BeforeEach
    void recordHostNamespace() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "network namespaces need Linux");
        hostInode = currentThreadNetnsInode();
    }

    @AfterEach
    void stillInHostNamespace() {
        assertThat(currentThreadNetnsInode()).isEqualTo(hostInode);
    }

    private NetworkNamespaces namespaces(Path... roots) throws SyscallException {
        return new NetworkNamespaces(LinuxSyscalls.load(), List.of(roots));
    }

    private long markRan() {
        actionRan.set(true);
        return currentThreadNetnsInode();
    }

    @ParameterizedTest(name = "[{index}] \"{0}\"")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            ''           | empty
            .            | a relative directory
            ..           | a relative directory
            ../x         | contains '/'
            /abs         | contains '/'
            a/b          | contains '/'
            """)
    void rejectsNamesThatAreNotPlainFileNames(String name, String problem) throws IOException {
        // If "../x" or an absolute name got through, it would open this real file.
        Files.createDirectories(dir.resolve("root"));
        Files.writeString(dir.resolve("x"), "not a namespace");
        try (NetworkNamespaces namespaces = namespaces(dir.resolve("root"))) {
            assertThatThrownBy(() -> namespaces.inside(name, this::markRan))
                    .isInstanceOf(DialException.class)
                    .hasMessage("netns name \"" + name + "\" is invalid: " + problem + " (expected: a plain file name)");
        }
        assertThat(actionRan).isFalse();
    }

    static Stream<Arguments> namesWithControlCharacters() {
        return Stream.of(
                Arguments.of("a\u0000b", "a\\u0000b"),
                Arguments.of("a\nb", "a\\u000ab"),
                Arguments.of("a\u007fb", "a\\u007fb"));
    }

    @ParameterizedTest
    @MethodSource("namesWithControlCharacters")
    void rejectsControlCharactersAndEscapesThemInTheMessage(String name, String escaped) throws IOException {
        try (NetworkNamespaces namespaces = namespaces(dir)) {
            assertThatThrownBy(() -> namespaces.inside(name, this::markRan))
                    .isInstanceOf(DialException.class)
                    .hasMessage("netns name \"" + escaped
                            + "\" is invalid: contains a control character (expected: a plain file name)");
        }
        assertThat(actionRan).isFalse();
    }

    @Test
    void refusesVirtualThreads() throws Exception {
        Files.writeString(dir.resolve("vm"), "");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (NetworkNamespaces namespaces = namespaces(dir)) {
            Thread.ofVirtual().start(() -> {
                try {
                    namespaces.inside("vm", this::markRan);
                } catch (Throwable t) {
                    failure.set(t);
                }
            }).join();
        }
        assertThat(failure.get())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("netns vm: cannot switch namespaces on a virtual thread (a namespace belongs to an OS thread)");
        assertThat(actionRan).isFalse();
    }

    @Test
    void namesEveryRootWhenTheNamespaceIsMissing() throws IOException {
        Files.createDirectories(dir.resolve("b"));
        try (NetworkNamespaces namespaces = namespaces(dir.resolve("a"), dir.resolve("b"))) {
            assertThatThrownBy(() -> namespaces.inside("vm1", this::markRan))
                    .isInstanceOf(DialException.class)
                    .hasMessage("netns vm1 not found in " + dir.resolve("a") + ", " + dir.resolve("b"));
        }
        assertThat(actionRan).isFalse();
    }

    @Test
    void refusesAFileThatIsNotANetworkNamespace() throws IOException {
        Files.writeString(dir.resolve("plain"), "x");
        try (NetworkNamespaces namespaces = namespaces(dir)) {
            assertThatThrownBy(() -> namespaces.inside("plain", this::markRan))
                    .isInstanceOf(DialException.class)
                    .hasMessage(dir.resolve("plain") + " is not a network namespace")
                    .hasCauseInstanceOf(SyscallException.class);
        }
        assertThat(actionRan).isFalse();
    }

    @Nested
    @Tag("root")
    class WithRealNamespace {
        private UnreachableRoute route;
        private TestNamespace ns;

        @BeforeEach
        void createNamespace() {
            TestNamespace.assumeRoot();
            route = UnreachableRoute.add("10.213.3.0/24");
            ns = TestNamespace.create("mfwd-t3", "10.213.3.2/32");
        }

        @AfterEach
        void deleteNamespace() {
            try {
                if (ns != null) {
                    ns.close();
                }
            } finally {
                if (route != null) {
                    route.close();
                }
            }
        }

        @Test
        void runsTheActionInsideAndReturnsToTheHost() throws IOException {
            try (NetworkNamespaces namespaces = namespaces(TestNamespace.NETNS_ROOT)) {
                long inside = namespaces.inside(ns.name(), NetworkNamespacesTest.this::markRan);

                assertThat(inside).isEqualTo(ns.inode()).isNotEqualTo(hostInode);
                assertThat(currentThreadNetnsInode()).isEqualTo(hostInode);
            }
        }

        @Test
        void returnsToTheHostWhenTheActionThrows() throws IOException {
            try (NetworkNamespaces namespaces = namespaces(TestNamespace.NETNS_ROOT)) {
                assertThatThrownBy(() -> namespaces.inside(ns.name(), () -> {
                    throw new IllegalStateException("boom");
                })).hasMessage("boom");

                assertThat(currentThreadNetnsInode()).isEqualTo(hostInode);
            }
        }

        @Test
        void triesRootsInOrderSkippingMissingOnes() throws IOException {
            Path fileNotDirectory = Files.writeString(dir.resolve("file"), "");
            try (NetworkNamespaces namespaces = namespaces(
                    dir.resolve("missing"), fileNotDirectory, TestNamespace.NETNS_ROOT)) {
                assertThat(namespaces.inside(ns.name(), NetworkNamespacesTest.this::markRan)).isEqualTo(ns.inode());
            }
        }

        @Test
        void usesTheFirstRootThatHasTheName() throws IOException {
            Files.writeString(dir.resolve(ns.name()), "shadows the real namespace");
            try (NetworkNamespaces namespaces = namespaces(dir, TestNamespace.NETNS_ROOT)) {
                assertThatThrownBy(() -> namespaces.inside(ns.name(), NetworkNamespacesTest.this::markRan))
                        .isInstanceOf(DialException.class)
                        .hasMessage(dir.resolve(ns.name()) + " is not a network namespace");
            }
            assertThat(actionRan).isFalse();
        }

        @Test
        void reopensTheNamespaceOnEveryCallSoADeletedOneIsGone() throws IOException {
            try (NetworkNamespaces namespaces = namespaces(TestNamespace.NETNS_ROOT)) {
                assertThat(namespaces.inside(ns.name(), NetworkNamespacesTest.this::markRan)).isEqualTo(ns.inode());
                ns.close();

                // A cached fd would keep the deleted namespace alive and still enter it.
                assertThatThrownBy(() -> namespaces.inside(ns.name(), NetworkNamespacesTest.this::markRan))
                        .isInstanceOf(DialException.class)
                        .hasMessage("netns " + ns.name() + " not found in " + TestNamespace.NETNS_ROOT);
            }
        }
    }
}

package io.mergen.forwarder.resolver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.mergen.forwarder.config.DomainRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmResolverTest {

    // Long enough that only watch events can explain a change seen within the test's deadline.
    private static final Duration NO_PERIODIC_RESCAN = Duration.ofHours(1);
    private static final Duration WITHIN = Duration.ofSeconds(1);
    private static final DomainRule LOCALHOST = new DomainRule("", "localhost");

    @TempDir
    Path tmp;

    private Path root;
    private LogCapture logs;

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createDirectory(tmp.resolve("vm.d"));
        logs = new LogCapture();
    }

    @AfterEach
    void tearDown() {
        logs.close();
    }

    @Test
    void loadsSynchronouslyOnStart() throws IOException {
        Metas.write(root, "a", Metas.meta("aaaaaaaa-1", "\"tags\":{\"app\":\"app1\"}"));

        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            assertThat(resolver.current().byAlias("app1")).map(VmRoute::id).hasValue("aaaaaaaa-1");
            assertThat(resolver.current().first()).map(VmRoute::id).hasValue("aaaaaaaa-1");
            assertThat(logs.messages(Level.INFO, "added [aaaaaaaa-1]")).hasSize(1);
        }
    }

    @Test
    void routesEachKindOfServerName() throws IOException {
        Metas.write(root, "a", Metas.meta("084604f6-1c2b", "\"tags\":{\"app\":\"app1\"}"));

        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            VmRoute vm = resolver.current().vms().getFirst();
            assertThat(resolver.route(null)).isEqualTo(new Route.NoSni());
            assertThat(resolver.route("")).isEqualTo(new Route.NoSni());
            assertThat(resolver.route("app1.example.com")).isEqualTo(new Route.OutsideDomain("app1.example.com"));
            assertThat(resolver.route("a.app1.localhost")).isEqualTo(new Route.OutsideDomain("a.app1.localhost"));
            assertThat(resolver.route("localhost")).isEqualTo(new Route.OutsideDomain("localhost"));
            assertThat(resolver.route("APP1.localhost.")).isEqualTo(new Route.Found("APP1.localhost.", "app1", vm));
            assertThat(resolver.route("084604f6.localhost")).isEqualTo(new Route.Found("084604f6.localhost", "084604f6", vm));
            assertThat(resolver.route("app2.localhost")).isEqualTo(new Route.UnknownLabel("app2.localhost", "app2"));
        }
    }

    @Test
    void routesUnderAPrefixedDomain() throws IOException {
        Metas.write(root, "a", Metas.meta("084604f6-1c2b", "\"tags\":{\"app\":\"app1\"}"));

        try (VmResolver resolver = new VmResolver(root, NO_PERIODIC_RESCAN, new DomainRule("vm", "example.com"))) {
            resolver.start();
            assertThat(resolver.route("app1.vm.example.com")).isInstanceOf(Route.Found.class);
            assertThat(resolver.route("app1.example.com")).isInstanceOf(Route.OutsideDomain.class);
        }
    }

    @Test
    void seesANewVmWithinASecond() throws IOException {
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            assertThat(resolver.current().vms()).isEmpty();

            Metas.write(root, "new", Metas.meta("bbbbbbbb-1", "\"tags\":{\"app\":\"app1\"}"));

            await().atMost(WITHIN).untilAsserted(
                    () -> assertThat(resolver.route("app1.localhost")).isInstanceOf(Route.Found.class));
        }
    }

    @Test
    void seesAnAtomicallyReplacedFileWithinASecond() throws IOException {
        Metas.replace(root, "a", Metas.meta("aaaaaaaa-1", "\"tags\":{\"app\":\"app1\"}"));
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            Metas.replace(root, "a", Metas.meta("aaaaaaaa-1", "\"tags\":{\"app\":\"app2\"}"));

            await().atMost(WITHIN).untilAsserted(() -> {
                assertThat(resolver.current().byAlias("app2")).isPresent();
                assertThat(resolver.current().byAlias("app1")).isEmpty();
            });
        }
    }

    @Test
    void seesARewriteInPlaceWithinASecond() throws IOException {
        Metas.write(root, "a", Metas.meta("aaaaaaaa-1", "\"tags\":{\"app\":\"app1\"}", "\"httpPort\":8080"));
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            Metas.write(root, "a", Metas.meta("aaaaaaaa-1", "\"tags\":{\"app\":\"renamed\"}", "\"httpPort\":9090"));

            await().atMost(WITHIN).untilAsserted(() -> {
                assertThat(resolver.current().byAlias("renamed")).map(vm -> vm.guestPort(443)).hasValue(9090);
                assertThat(resolver.current().byAlias("app1")).isEmpty();
            });
        }
    }

    @Test
    void dropsAVmWhoseFileIsDeletedWithinASecond() throws IOException {
        Path file = Metas.write(root, "a", Metas.meta("aaaaaaaa-1"));
        Metas.write(root, "b", Metas.meta("bbbbbbbb-1"));
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            Files.delete(file);

            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().vms())
                    .extracting(VmRoute::id).containsExactly("bbbbbbbb-1"));
            assertThat(logs.messages(Level.INFO, "removed [aaaaaaaa-1]")).hasSize(1);
        }
    }

    @Test
    void dropsAVmWhoseFolderIsDeletedWithinASecond() throws IOException {
        Metas.write(root, "a", Metas.meta("aaaaaaaa-1"));
        Metas.write(root, "b", Metas.meta("bbbbbbbb-1"));
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            deleteTree(root.resolve("a"));

            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().vms())
                    .extracting(VmRoute::id).containsExactly("bbbbbbbb-1"));
        }
    }

    @Test
    void watchesAFolderRecreatedUnderTheSameName() throws IOException {
        Metas.write(root, "a", Metas.meta("aaaaaaaa-1"));
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            deleteTree(root.resolve("a"));
            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().vms()).isEmpty());

            Metas.write(root, "a", Metas.meta("aaaaaaaa-2", "\"tags\":{\"app\":\"one\"}"));
            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().byAlias("one")).isPresent());

            // Only a watch on the new folder (not the one deleted under the same name) sees this rewrite.
            Metas.write(root, "a", Metas.meta("aaaaaaaa-2", "\"tags\":{\"app\":\"two\"}"));
            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().byAlias("two")).isPresent());
        }
    }

    @Test
    void startsEmptyWithoutARootAndPicksItUpWhenCreated() throws IOException {
        deleteTree(root);
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            assertThat(resolver.current().vms()).isEmpty();
            assertThat(logs.messages(Level.WARN, root + " does not exist")).hasSize(1);

            Metas.write(root, "a", Metas.meta("aaaaaaaa-1"));

            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().vms()).hasSize(1));
        }
    }

    @Test
    void followsTheRootBeingDeletedAndRecreated() throws IOException {
        Metas.write(root, "a", Metas.meta("aaaaaaaa-1"));
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            deleteTree(root);
            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().vms()).isEmpty());

            Metas.write(root, "b", Metas.meta("bbbbbbbb-1"));
            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().vms())
                    .extracting(VmRoute::id).containsExactly("bbbbbbbb-1"));

            // The new root is watched too, not only found once.
            Metas.write(root, "c", Metas.meta("cccccccc-1"));
            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().vms()).hasSize(2));
        }
    }

    @Test
    void periodicRescanCatchesWhatNoWatchSees() throws IOException {
        // meta.json is a link to a file outside every watched folder: only a rescan notices its target change.
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        Path target = Files.writeString(outside.resolve("target.json"), Metas.meta("aaaaaaaa-1", "\"tags\":{\"app\":\"one\"}"));
        Files.createSymbolicLink(Files.createDirectory(root.resolve("a")).resolve(MetaFile.FILE_NAME), target);

        try (VmResolver resolver = start(Duration.ofMillis(200))) {
            assertThat(resolver.current().byAlias("one")).isPresent();

            Path next = Files.writeString(outside.resolve("next.json"), Metas.meta("aaaaaaaa-1", "\"tags\":{\"app\":\"two\"}"));
            Files.move(next, target, StandardCopyOption.ATOMIC_MOVE);

            await().atMost(WITHIN).untilAsserted(() -> assertThat(resolver.current().byAlias("two")).isPresent());
        }
    }

    @Test
    void reloadRescansSynchronously() throws IOException {
        try (VmResolver resolver = new VmResolver(root, NO_PERIODIC_RESCAN, LOCALHOST)) {
            Metas.write(root, "a", Metas.meta("aaaaaaaa-1"));

            // Not started: no watch thread can have done it.
            resolver.reload();

            assertThat(resolver.current().vms()).extracting(VmRoute::id).containsExactly("aaaaaaaa-1");
        }
    }

    @Test
    void logsEachConflictOnceAndAgainWhenItComesBack() throws IOException {
        Metas.write(root, "a", Metas.meta("aaaaaaaa-1", "\"createdAt\":\"2020-01-01T00:00:00Z\"", "\"tags\":{\"app\":\"shop\"}"));
        Metas.write(root, "b", Metas.meta("bbbbbbbb-1", "\"tags\":{\"app\":\"shop\"}"));
        try (VmResolver resolver = start(NO_PERIODIC_RESCAN)) {
            resolver.reload();
            resolver.reload();

            assertThat(resolver.current().conflicts()).containsExactly(new AliasConflict("shop", "aaaaaaaa-1",
                    "bbbbbbbb-1", "both claim it as explicit name; aaaaaaaa-1 is earlier in resolver order"));
            assertThat(logs.messages(Level.WARN, "Alias shop")).singleElement().asString()
                    .contains("aaaaaaaa-1", "bbbbbbbb-1");

            Metas.write(root, "b", Metas.meta("bbbbbbbb-1", "\"tags\":{\"app\":\"blog\"}"));
            resolver.reload();
            assertThat(resolver.current().conflicts()).isEmpty();
            Metas.write(root, "b", Metas.meta("bbbbbbbb-1", "\"tags\":{\"app\":\"shop\"}"));
            resolver.reload();

            assertThat(logs.messages(Level.WARN, "Alias shop")).hasSize(2);
        }
    }

    @Test
    void conflictOutcomeDoesNotDependOnCreationOrder() throws IOException {
        String[] folders = {"x1", "x2", "x3"};
        String[] metas = {
            Metas.meta("abcdefgh", "\"tags\":{\"app\":\"shop\"}"),
            Metas.meta("abcdefgh-2", "\"tags\":{\"app\":\"shop\"}"),
            Metas.meta("shop-3", "\"metadata\":{\"name\":\"abcdefgh\"}"),
        };
        Path forward = Files.createDirectory(tmp.resolve("forward"));
        Path backward = Files.createDirectory(tmp.resolve("backward"));
        for (int i = 0; i < metas.length; i++) {
            Metas.write(forward, folders[i], metas[i]);
            Metas.write(backward, folders[metas.length - 1 - i], metas[metas.length - 1 - i]);
        }

        try (VmResolver one = new VmResolver(forward, NO_PERIODIC_RESCAN, LOCALHOST);
                VmResolver two = new VmResolver(backward, NO_PERIODIC_RESCAN, LOCALHOST)) {
            one.reload();
            two.reload();

            assertThat(one.current().aliases()).isEqualTo(two.current().aliases());
            assertThat(one.current().conflicts()).isEqualTo(two.current().conflicts()).hasSize(3);
            assertThat(one.current().byAlias("abcdefgh")).map(VmRoute::id).hasValue("abcdefgh");
            assertThat(one.current().byAlias("shop")).map(VmRoute::id).hasValue("abcdefgh");
        }
    }

    @Test
    void runsTheWatchOnANamedPlatformDaemonThreadAndStopsItOnClose() throws IOException {
        VmResolver resolver = start(NO_PERIODIC_RESCAN);
        try {
            assertThat(watchThread()).hasValueSatisfying(thread -> {
                assertThat(thread.isDaemon()).isTrue();
                assertThat(thread.isVirtual()).isFalse();
            });
        } finally {
            resolver.close();
        }
        assertThat(watchThread()).isEmpty();
        assertThatThrownBy(resolver::reload).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(resolver::start).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void rejectsANegativeRescanInterval() {
        assertThatThrownBy(() -> new VmResolver(root, Duration.ofSeconds(-1), LOCALHOST))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rescanInterval: PT-1S (expected: >= 0)");
    }

    private VmResolver start(Duration rescanInterval) {
        VmResolver resolver = new VmResolver(root, rescanInterval, LOCALHOST);
        resolver.start();
        return resolver;
    }

    private static Optional<Thread> watchThread() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.getName().equals("resolver-watch") && thread.isAlive())
                .findFirst();
    }

    static void deleteTree(Path top) throws IOException {
        try (Stream<Path> paths = Files.walk(top)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}

package io.mergen.forwarder.resolver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import io.mergen.forwarder.config.DomainRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MetaDirectoryScannerTest {

    private static final Duration NO_PERIODIC_RESCAN = Duration.ofHours(1);

    @TempDir
    Path root;

    private LogCapture logs;

    @BeforeEach
    void setUp() {
        logs = new LogCapture();
    }

    @AfterEach
    void tearDown() {
        logs.close();
    }

    /** Puts something broken at {@code folder/meta.json}. */
    @FunctionalInterface
    interface Breakage {
        void apply(Path folder) throws Exception;
    }

    static Stream<Arguments> breakages() {
        return Stream.of(
                broken("invalid JSON", "invalid JSON", folder -> write(folder, "{\"id\":\"broken-1\",")),
                broken("top level not an object", "top level: ARRAY", folder -> write(folder, "[" + Metas.meta("broken-1") + "]")),
                broken("empty file", "empty file", folder -> write(folder, "")),
                broken("id missing", "id: missing", folder -> write(folder, "{\"guestIP\":\"10.0.0.1\",\"netns\":\"n\"}")),
                broken("guestIP a host name", "guestIP: \"example.com\"",
                        folder -> write(folder, Metas.meta("broken-1", "\"guestIP\":\"example.com\""))),
                broken("netns traversal", "netns: \"../../proc/1/ns/net\"",
                        folder -> write(folder, Metas.meta("broken-1", "\"netns\":\"../../proc/1/ns/net\""))),
                broken("netns absolute", "netns: \"/abs\"",
                        folder -> write(folder, Metas.meta("broken-1", "\"netns\":\"/abs\""))),
                broken("httpPort out of range", "httpPort: 70000",
                        folder -> write(folder, Metas.meta("broken-1", "\"httpPort\":70000"))),
                broken("larger than 1 MiB", "too large: 1048577 bytes",
                        folder -> write(folder, padded(Metas.meta("broken-1"), MetaFile.MAX_BYTES + 1))),
                broken("symbolic link loop", "FileSystemException",
                        folder -> Files.createSymbolicLink(folder.resolve(MetaFile.FILE_NAME), Paths.get(MetaFile.FILE_NAME))),
                broken("dangling symbolic link", "dangling symbolic link",
                        folder -> Files.createSymbolicLink(folder.resolve(MetaFile.FILE_NAME), folder.resolve("gone.json"))),
                broken("a directory named meta.json", "is a directory",
                        folder -> Files.createDirectory(folder.resolve(MetaFile.FILE_NAME))),
                broken("a FIFO", "not a regular file", folder -> {
                    Process mkfifo = new ProcessBuilder("mkfifo", folder.resolve(MetaFile.FILE_NAME).toString()).start();
                    assumeTrue(mkfifo.waitFor() == 0, "mkfifo is not available");
                }),
                // Unreadable even for root: reading /proc/self/mem at offset 0 fails with EIO.
                broken("an unreadable file", "IOException", folder -> {
                    assumeTrue(Files.exists(Paths.get("/proc/self/mem")), "no /proc/self/mem");
                    Files.createSymbolicLink(folder.resolve(MetaFile.FILE_NAME), Paths.get("/proc/self/mem"));
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("breakages")
    void skipsOnlyTheBrokenVm(String description, String reason, Breakage breakage) throws Exception {
        Metas.write(root, "good", Metas.meta("good-1", "\"tags\":{\"app\":\"app1\"}"));
        Path folder = Files.createDirectory(root.resolve("broken"));
        breakage.apply(folder);

        try (VmResolver resolver = new VmResolver(root, NO_PERIODIC_RESCAN, new DomainRule("", "localhost"))) {
            resolver.start();

            assertThat(resolver.current().vms()).extracting(VmRoute::id).containsExactly("good-1");
            assertThat(resolver.route("app1.localhost")).isInstanceOf(Route.Found.class);
            assertThat(logs.messages(Level.WARN, folder.resolve(MetaFile.FILE_NAME).toString()))
                    .singleElement().asString().contains(reason);
        }
    }

    @Test
    void acceptsAFileOfExactly1MiB() throws IOException {
        Metas.write(root, "big", padded(Metas.meta("big-1"), MetaFile.MAX_BYTES));

        assertThat(new MetaDirectoryScanner(root).scan(folder -> {})).isInstanceOfSatisfying(
                MetaDirectoryScanner.Scan.Listed.class,
                listed -> assertThat(listed.vms()).extracting(VmRoute::id).containsExactly("big-1"));
    }

    @Test
    void warnsOncePerBrokenState() throws IOException {
        Path file = Metas.write(root, "broken", "{\"id\":");
        MetaDirectoryScanner scanner = new MetaDirectoryScanner(root);

        scanner.scan(folder -> {});
        scanner.scan(folder -> {});
        scanner.scan(folder -> {});
        assertThat(logs.messages(Level.WARN, file.toString())).hasSize(1);

        Files.writeString(file, "{\"id\":\"x\"");
        scanner.scan(folder -> {});
        scanner.scan(folder -> {});
        assertThat(logs.messages(Level.WARN, file.toString())).hasSize(2);

        // Fixed, then broken again the first way: a new state, so a new warning.
        Files.writeString(file, Metas.meta("fixed-1"));
        scanner.scan(folder -> {});
        Files.writeString(file, "{\"id\":");
        scanner.scan(folder -> {});
        assertThat(logs.messages(Level.WARN, file.toString())).hasSize(3);
    }

    @Test
    void warnsOnceAboutAnIgnoredCreatedAt() throws IOException {
        Path file = Metas.write(root, "a", Metas.meta("a-1", "\"createdAt\":\"soon\""));
        MetaDirectoryScanner scanner = new MetaDirectoryScanner(root);

        scanner.scan(folder -> {});
        scanner.scan(folder -> {});

        assertThat(logs.messages(Level.WARN, file.toString())).singleElement().asString().contains("createdAt: \"soon\"");
    }

    @Test
    void ignoresFoldersWithoutMetaJsonAndStrayFilesQuietly() throws IOException {
        Files.createDirectory(root.resolve("empty"));
        Files.writeString(root.resolve("README"), "not a VM");
        Metas.write(root, "good", Metas.meta("good-1"));
        MetaDirectoryScanner scanner = new MetaDirectoryScanner(root);

        MetaDirectoryScanner.Scan scan = scanner.scan(folder -> {});
        scanner.scan(folder -> {});

        assertThat(scan).isInstanceOfSatisfying(MetaDirectoryScanner.Scan.Listed.class, listed -> {
            assertThat(listed.vms()).extracting(VmRoute::id).containsExactly("good-1");
            assertThat(listed.folders()).containsExactly(root.resolve("empty"), root.resolve("good"));
        });
        assertThat(logs.messages(Level.WARN, root.toString())).isEmpty();
        assertThat(logs.messages(Level.DEBUG, root.resolve("empty").toString())).hasSize(1);
    }

    @Test
    void keepsOneVmPerIdPreferringTheFolderNamedAfterIt() throws IOException {
        Metas.write(root, "a-copy", Metas.meta("dup-1", "\"tags\":{\"app\":\"copy\"}"));
        Metas.write(root, "dup-1", Metas.meta("dup-1", "\"tags\":{\"app\":\"original\"}"));
        Metas.write(root, "z-copy", Metas.meta("dup-1", "\"tags\":{\"app\":\"other\"}"));
        MetaDirectoryScanner scanner = new MetaDirectoryScanner(root);

        MetaDirectoryScanner.Scan scan = scanner.scan(folder -> {});
        scanner.scan(folder -> {});

        assertThat(scan).isInstanceOfSatisfying(MetaDirectoryScanner.Scan.Listed.class, listed -> {
            assertThat(listed.vms()).extracting(VmRoute::id).containsExactly("dup-1");
            assertThat(listed.namesById()).containsEntry("dup-1", List.of("original"));
        });
        assertThat(logs.messages(Level.WARN, "VM id dup-1 appears in")).hasSize(1);
    }

    @Test
    void reportsAMissingRootAsMissingAndAFileRootLikewise() throws IOException {
        assertThat(new MetaDirectoryScanner(root.resolve("nope")).scan(folder -> {}))
                .isEqualTo(new MetaDirectoryScanner.Scan.RootMissing("does not exist"));
        Path file = Files.writeString(root.resolve("file"), "x");
        assertThat(new MetaDirectoryScanner(file).scan(folder -> {}))
                .isEqualTo(new MetaDirectoryScanner.Scan.RootMissing("is not a directory"));
    }

    @Test
    void offersEachFolderBeforeReadingIt() throws IOException {
        Metas.write(root, "a", Metas.meta("a-1"));
        List<Path> offered = new ArrayList<>();

        new MetaDirectoryScanner(root).scan(offered::add);

        assertThat(offered).containsExactly(root.resolve("a"));
    }

    private static Arguments broken(String description, String reason, Breakage breakage) {
        return Arguments.of(description, reason, breakage);
    }

    private static void write(Path folder, String content) throws IOException {
        Files.writeString(folder.resolve(MetaFile.FILE_NAME), content);
    }

    /** A valid JSON document padded with trailing spaces to exactly {@code size} bytes. */
    private static String padded(String json, int size) {
        return json + " ".repeat(size - json.length());
    }
}

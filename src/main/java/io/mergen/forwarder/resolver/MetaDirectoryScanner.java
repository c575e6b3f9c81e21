package io.mergen.forwarder.resolver;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every {@code <root>/<folder>/meta.json}, keeping the valid ones and warning once about each broken state.
 *
 * <p>Not thread-safe: the resolver calls it under its scan lock.
 */
final class MetaDirectoryScanner {

    private static final Logger logger = LoggerFactory.getLogger(MetaDirectoryScanner.class);

    /** What one scan found. */
    sealed interface Scan {
        /** The root was listed; {@code vms} have distinct ids, {@code folders} are every folder looked into. */
        record Listed(List<VmRoute> vms, Map<String, List<String>> namesById, List<Path> folders) implements Scan {
            public Listed {
                vms = List.copyOf(vms);
                namesById = Map.copyOf(namesById);
                folders = List.copyOf(folders);
            }
        }

        /** The root does not exist or is not a directory: no VM is routable. */
        record RootMissing(String reason) implements Scan {}

        /** The root exists but could not be listed: keep whatever was routable before. */
        record RootUnreadable(String reason) implements Scan {}
    }

    private final Path root;
    // What was last logged per meta.json, so a file stuck in one broken state is reported once, not every rescan.
    private final Map<Path, Report> reported = new HashMap<>();
    private final Set<String> reportedDuplicates = new HashSet<>();
    private String reportedRootProblem;

    MetaDirectoryScanner(Path root) {
        this.root = requireNonNull(root, "root");
    }

    /** Scans the root; {@code beforeReading} sees each VM folder before its meta.json is read (to watch it first). */
    Scan scan(Consumer<Path> beforeReading) {
        requireNonNull(beforeReading, "beforeReading");
        List<Path> folders;
        try {
            if (!Files.isDirectory(root)) {
                boolean exists = Files.exists(root, LinkOption.NOFOLLOW_LINKS);
                return rootMissing(exists ? "is not a directory" : "does not exist");
            }
            folders = listFolders();
        } catch (NoSuchFileException e) {
            return rootMissing("does not exist");
        } catch (IOException | DirectoryIteratorException | SecurityException e) {
            return rootUnreadable(describe(e));
        }
        if (reportedRootProblem != null) {
            logger.info("Reading VMs from {} again", root);
            reportedRootProblem = null;
        }

        Map<String, List<Found>> byId = new LinkedHashMap<>();
        Set<Path> seen = new HashSet<>();
        for (Path folder : folders) {
            beforeReading.accept(folder);
            Path file = folder.resolve(MetaFile.FILE_NAME);
            seen.add(file);
            if (read(file) instanceof MetaFile.Parsed.Valid valid) {
                byId.computeIfAbsent(valid.vm().id(), id -> new ArrayList<>()).add(new Found(folder, valid));
            }
        }
        reported.keySet().retainAll(seen);

        List<VmRoute> vms = new ArrayList<>();
        Map<String, List<String>> namesById = new HashMap<>();
        Set<String> duplicates = new HashSet<>();
        for (Map.Entry<String, List<Found>> entry : byId.entrySet()) {
            Found chosen = choose(entry.getKey(), entry.getValue(), duplicates);
            vms.add(chosen.parsed().vm());
            namesById.put(entry.getKey(), chosen.parsed().names());
        }
        reportedDuplicates.retainAll(duplicates);
        return new Scan.Listed(vms, namesById, folders);
    }

    private List<Path> listFolders() throws IOException {
        List<Path> folders = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path entry : entries) {
                if (Files.isDirectory(entry)) {
                    folders.add(entry);
                }
            }
        }
        // Sorted so that every decision that depends on order is the same whatever the listing order.
        folders.sort(null);
        return folders;
    }

    /** Reads and parses one meta.json; {@code null} when the folder has none. */
    private MetaFile.Parsed read(Path file) {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            if (Files.isSymbolicLink(file)) {
                return invalid(file, linkState(file), "dangling symbolic link");
            }
            report(file, Report.ABSENT, () -> logger.debug("Ignoring {}: no {}", file.getParent(), MetaFile.FILE_NAME));
            return null;
        } catch (IOException | SecurityException e) {
            return invalid(file, linkState(file), describe(e));
        }

        FileState state = new FileState(attributes.size(), attributes.lastModifiedTime());
        if (attributes.isDirectory()) {
            return invalid(file, state, "is a directory");
        }
        // A FIFO or device would block the read or never end.
        if (!attributes.isRegularFile()) {
            return invalid(file, state, "not a regular file");
        }
        if (attributes.size() > MetaFile.MAX_BYTES) {
            return invalid(file, state, tooLarge(attributes.size()));
        }
        byte[] content;
        try (InputStream in = Files.newInputStream(file)) {
            content = in.readNBytes(MetaFile.MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            // Deleted between the stat and the open: the delete event triggers another scan.
            return null;
        } catch (IOException | SecurityException e) {
            return invalid(file, state, describe(e));
        }
        if (content.length > MetaFile.MAX_BYTES) {
            return invalid(file, state, tooLarge(content.length));
        }

        // A manager writing the file in place may be caught mid-write: the next change event reads it again.
        MetaFile.Parsed parsed = MetaFile.parse(content);
        switch (parsed) {
            case MetaFile.Parsed.Invalid bad -> invalid(file, state, bad.reason());
            case MetaFile.Parsed.Valid valid when !valid.warnings().isEmpty() -> {
                String warnings = String.join("; ", valid.warnings());
                report(file, new Report(state, warnings), () -> logger.warn("{}: {}", file, warnings));
            }
            case MetaFile.Parsed.Valid valid -> reported.remove(file);
        }
        return parsed;
    }

    private MetaFile.Parsed invalid(Path file, FileState state, String reason) {
        report(file, new Report(state, reason), () -> logger.warn("Skipping {}: {}", file, reason));
        return new MetaFile.Parsed.Invalid(reason);
    }

    private void report(Path file, Report report, Runnable log) {
        if (!report.equals(reported.put(file, report))) {
            log.run();
        }
    }

    /** Two folders with the same id: the folder named after the id wins, else the first folder by name. */
    private Found choose(String id, List<Found> candidates, Set<String> duplicates) {
        if (candidates.size() == 1) {
            return candidates.getFirst();
        }
        Found chosen = candidates.stream()
                .filter(found -> found.folder().getFileName().toString().equals(id))
                .findFirst()
                .orElse(candidates.getFirst());
        List<Path> files = candidates.stream().map(found -> found.folder().resolve(MetaFile.FILE_NAME)).toList();
        String description = "VM id " + id + " appears in " + files + "; using "
                + chosen.folder().resolve(MetaFile.FILE_NAME);
        duplicates.add(description);
        if (reportedDuplicates.add(description)) {
            logger.warn(description);
        }
        return chosen;
    }

    private Scan rootMissing(String reason) {
        if (!reason.equals(reportedRootProblem)) {
            reportedRootProblem = reason;
            logger.warn("VM config root {} {}: no VM is routable until it appears", root, reason);
        }
        return new Scan.RootMissing(reason);
    }

    private Scan rootUnreadable(String reason) {
        if (!reason.equals(reportedRootProblem)) {
            reportedRootProblem = reason;
            logger.warn("VM config root {} cannot be listed ({}): keeping the last known VMs", root, reason);
        }
        return new Scan.RootUnreadable(reason);
    }

    private static FileState linkState(Path file) {
        try {
            BasicFileAttributes link = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return new FileState(link.size(), link.lastModifiedTime());
        } catch (IOException | SecurityException e) {
            return new FileState(-1, null);
        }
    }

    private static String tooLarge(long size) {
        return "too large: " + size + " bytes (expected: <= " + MetaFile.MAX_BYTES + ")";
    }

    private static String describe(Exception e) {
        Throwable cause = e instanceof DirectoryIteratorException iteration ? iteration.getCause() : e;
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    private record Found(Path folder, MetaFile.Parsed.Valid parsed) {}

    private record FileState(long size, FileTime modified) {}

    /** What was logged about a file in a given state; equal reports are not logged again. */
    private record Report(FileState state, String message) {
        static final Report ABSENT = new Report(new FileState(-1, null), "absent");

        Report {
            requireNonNull(message, "message");
        }
    }
}

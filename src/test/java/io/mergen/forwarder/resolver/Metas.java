package io.mergen.forwarder.resolver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** meta.json contents and folders for tests. */
final class Metas {

    private Metas() {}

    /** A valid meta.json for {@code id}, with extra raw JSON members such as {@code "tags":{"app":"a"}}. */
    static String meta(String id, String... members) {
        StringBuilder json = new StringBuilder()
                .append("{\"id\":\"").append(id).append("\",")
                .append("\"guestIP\":\"10.213.2.2\",")
                .append("\"netns\":\"mergen-").append(id.length() > 8 ? id.substring(0, 8) : id).append('"');
        for (String member : members) {
            json.append(',').append(member);
        }
        return json.append('}').toString();
    }

    /** Writes {@code <root>/<folder>/meta.json} in place (as a careless manager would). */
    static Path write(Path root, String folder, String content) throws IOException {
        Path dir = Files.createDirectories(root.resolve(folder));
        return Files.writeString(dir.resolve(MetaFile.FILE_NAME), content);
    }

    /** Replaces {@code <root>/<folder>/meta.json} atomically (as a careful manager would). */
    static Path replace(Path root, String folder, String content) throws IOException {
        Path dir = Files.createDirectories(root.resolve(folder));
        Path tmp = Files.writeString(dir.resolve(".meta.json.tmp"), content);
        return Files.move(tmp, dir.resolve(MetaFile.FILE_NAME), StandardCopyOption.ATOMIC_MOVE);
    }
}

package io.mergen.forwarder.app;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** curl, the client most users point at the HTTPS listener, pinned to the forwarder with --resolve. */
final class Curl {
    record Response(int exitCode, int status, String body, String stderr) {
    }

    private final Path caFile;
    private final int port;

    Curl(Path caFile, int port) {
        this.caFile = caFile;
        this.port = port;
    }

    /** GET https://host:port/path with host resolved to 127.0.0.1 and the test CA trusted. */
    Response get(String host, String path, String... extra) {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20",
                "--cacert", caFile.toString(),
                "--resolve", host + ":" + port + ":127.0.0.1",
                "-w", "\n%{http_code}"));
        command.addAll(List.of(extra));
        command.add("https://" + host + ":" + port + path);
        return parse(Shell.run(command, 60));
    }

    /** GET without SNI: curl sends none for an IP address. */
    Response getByAddress(String path) {
        return parse(Shell.run(List.of("curl", "-sS", "-k", "--max-time", "20", "-w", "\n%{http_code}",
                "https://127.0.0.1:" + port + path), 60));
    }

    private static Response parse(Shell.Result result) {
        String out = result.stdout();
        int cut = out.lastIndexOf('\n');
        int status = cut < 0 ? 0 : Integer.parseInt(out.substring(cut + 1).strip());
        return new Response(result.exitCode(), status, cut < 0 ? out : out.substring(0, cut), result.stderr());
    }
}

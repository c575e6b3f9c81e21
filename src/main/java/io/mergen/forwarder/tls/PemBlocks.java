package io.mergen.forwarder.tls;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits PEM text into its typed, base64-decoded blocks (RFC 7468), keeping RFC 1421 headers so legacy encrypted keys
 * can be recognised.
 */
final class PemBlocks {
    private static final Pattern BEGIN = Pattern.compile("-----BEGIN ([^-]+)-----");
    private static final Pattern END = Pattern.compile("-----END ([^-]+)-----");
    /** RFC 1421 section 4.6 header field, such as {@code Proc-Type: 4,ENCRYPTED}. */
    private static final Pattern HEADER = Pattern.compile("([A-Za-z0-9-]+):\\s*(.*)");

    private PemBlocks() {}

    /** One decoded block; {@code type} is the label between BEGIN and the dashes, such as {@code CERTIFICATE}. */
    record Block(String type, Map<String, String> headers, byte[] der) {
        Block {
            requireNonNull(type, "type");
            headers = Map.copyOf(headers);
            requireNonNull(der, "der");
        }

        boolean encrypted() {
            return headers.getOrDefault("Proc-Type", "").toUpperCase(Locale.ROOT).contains("ENCRYPTED");
        }
    }

    /**
     * Returns every block in order. Text outside blocks (openssl's "Bag Attributes" or "subject=" lines, comments) is
     * ignored; line endings may be LF or CRLF.
     */
    static List<Block> parse(String text) {
        requireNonNull(text, "text");
        List<Block> blocks = new ArrayList<>();
        String[] lines = text.split("\\R");
        int i = 0;
        while (i < lines.length) {
            Matcher begin = BEGIN.matcher(lines[i].strip());
            i++;
            if (!begin.matches()) {
                continue;
            }
            String type = begin.group(1);
            Map<String, String> headers = new LinkedHashMap<>();
            StringBuilder base64 = new StringBuilder();
            boolean ended = false;
            boolean inHeaders = true;
            while (i < lines.length) {
                String line = lines[i].strip();
                i++;
                Matcher end = END.matcher(line);
                if (end.matches()) {
                    if (!end.group(1).equals(type)) {
                        throw new InvalidMaterialException(
                                "block BEGIN " + type + " is closed by END " + end.group(1));
                    }
                    ended = true;
                    break;
                }
                Matcher header = HEADER.matcher(line);
                if (inHeaders && header.matches()) {
                    headers.put(header.group(1), header.group(2));
                    continue;
                }
                inHeaders = false;
                base64.append(line);
            }
            if (!ended) {
                throw new InvalidMaterialException("block BEGIN " + type + " has no END line");
            }
            blocks.add(new Block(type, headers, decode(type, base64.toString())));
        }
        return List.copyOf(blocks);
    }

    /** Describes what a file held, for errors that say which block was missing. */
    static String describe(List<Block> blocks) {
        return blocks.isEmpty() ? "no PEM blocks in the file"
                : "found: " + String.join(", ", blocks.stream().map(Block::type).distinct().toList());
    }

    private static byte[] decode(String type, String base64) {
        if (base64.isEmpty()) {
            throw new InvalidMaterialException(type + " block is empty");
        }
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new InvalidMaterialException("bad base64 in " + type + " block: " + e.getMessage(), e);
        }
    }
}

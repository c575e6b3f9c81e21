package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PemBlocksTest {
    @ParameterizedTest
    @ValueSource(strings = {"\n", "\r\n"})
    void readsEveryBlockAndIgnoresTextAround(String newline) {
        String pem = String.join(newline,
                "Bag Attributes",
                "    friendlyName: server",
                "subject=CN = app1.localhost",
                "-----BEGIN CERTIFICATE-----",
                "AQID",
                "BAU=",
                "-----END CERTIFICATE-----",
                "between blocks",
                "  -----BEGIN EC PARAMETERS-----  ",
                "BggqhkjOPQMBBw==",
                "-----END EC PARAMETERS-----",
                "", "");

        List<PemBlocks.Block> blocks = PemBlocks.parse(pem);

        assertThat(blocks).extracting(PemBlocks.Block::type).containsExactly("CERTIFICATE", "EC PARAMETERS");
        assertThat(blocks.getFirst().der()).containsExactly(1, 2, 3, 4, 5);
        assertThat(blocks.getFirst().headers()).isEmpty();
        assertThat(blocks.getFirst().encrypted()).isFalse();
    }

    @Test
    void keepsLegacyEncryptionHeaders() {
        String pem = """
                -----BEGIN RSA PRIVATE KEY-----
                Proc-Type: 4,ENCRYPTED
                DEK-Info: AES-256-CBC,2A0B6CB1D7E4F1A8

                AQID
                -----END RSA PRIVATE KEY-----
                """;

        PemBlocks.Block block = PemBlocks.parse(pem).getFirst();

        assertThat(block.headers()).containsEntry("Proc-Type", "4,ENCRYPTED")
                .containsEntry("DEK-Info", "AES-256-CBC,2A0B6CB1D7E4F1A8");
        assertThat(block.encrypted()).isTrue();
        assertThat(block.der()).containsExactly(1, 2, 3);
    }

    @Test
    void findsNothingInText() {
        assertThat(PemBlocks.parse("")).isEmpty();
        assertThat(PemBlocks.parse("not a certificate\n")).isEmpty();
        assertThat(PemBlocks.describe(List.of())).isEqualTo("no PEM blocks in the file");
    }

    @Test
    void describesWhatWasFound() {
        List<PemBlocks.Block> blocks = PemBlocks.parse("""
                -----BEGIN CERTIFICATE-----
                AQ==
                -----END CERTIFICATE-----
                -----BEGIN CERTIFICATE-----
                Ag==
                -----END CERTIFICATE-----
                -----BEGIN PRIVATE KEY-----
                Aw==
                -----END PRIVATE KEY-----
                """);

        assertThat(PemBlocks.describe(blocks)).isEqualTo("found: CERTIFICATE, PRIVATE KEY");
    }

    @Test
    void rejectsABlockWithoutEnd() {
        assertThatThrownBy(() -> PemBlocks.parse("-----BEGIN CERTIFICATE-----\nAQID\n"))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessage("block BEGIN CERTIFICATE has no END line");
    }

    @Test
    void rejectsMismatchedEnd() {
        assertThatThrownBy(() -> PemBlocks.parse("-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n"))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessage("block BEGIN CERTIFICATE is closed by END PRIVATE KEY");
    }

    @Test
    void rejectsBadBase64() {
        assertThatThrownBy(() -> PemBlocks.parse("-----BEGIN CERTIFICATE-----\nAQ!D\n-----END CERTIFICATE-----\n"))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessageStartingWith("bad base64 in CERTIFICATE block");
    }

    @Test
    void rejectsAnEmptyBlock() {
        assertThatThrownBy(() -> PemBlocks.parse("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessage("CERTIFICATE block is empty");
    }
}

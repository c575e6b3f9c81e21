package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DerTest {
    private static final HexFormat hex = HexFormat.of();

    @ParameterizedTest
    @CsvSource({
            "1.2.840.113549.1.1.1, 06092a864886f70d010101", // rsaEncryption
            "1.2.840.10045.2.1,    06072a8648ce3d0201",     // id-ecPublicKey
            "1.2.840.10045.3.1.7,  06082a8648ce3d030107",   // prime256v1
            "1.3.132.0.34,         06052b81040022",         // secp384r1
            "1.3.101.112,          06032b6570",             // Ed25519
            "2.999.3,              0603883703",             // X.690 8.19.5 example: first arcs 2.999
    })
    void objectIdentifiersRoundTrip(String dotted, String encoded) {
        assertThat(hex.formatHex(Der.objectIdentifier(dotted))).isEqualTo(encoded);
        Der.Element element = new Der.Reader(hex.parseHex(encoded)).next(Der.OBJECT_IDENTIFIER);
        assertThat(Der.objectIdentifier(element.value())).isEqualTo(dotted);
    }

    @ParameterizedTest
    @CsvSource({"0, 00", "127, 7f", "128, 8180", "255, 81ff", "256, 820100", "300, 82012c", "70000, 83011170"})
    void lengthsUseTheShortestForm(int length, String lengthOctets) {
        byte[] encoded = Der.element(Der.OCTET_STRING, new byte[length]);

        assertThat(hex.formatHex(encoded, 1, 1 + lengthOctets.length() / 2)).isEqualTo(lengthOctets);
        Der.Element element = new Der.Reader(encoded).next(Der.OCTET_STRING);
        assertThat(element.value()).hasSize(length);
        assertThat(element.encoded()).isEqualTo(encoded);
    }

    @Test
    void readsNestedElementsInOrder() {
        byte[] sequence = Der.element(Der.SEQUENCE, Der.integer(0), Der.nullElement(), Der.objectIdentifier("1.3.101.112"));

        Der.Reader contents = new Der.Reader(sequence).next(Der.SEQUENCE).contents();

        assertThat(contents.next(Der.INTEGER).value()).containsExactly(0);
        assertThat(contents.next(Der.NULL).value()).isEmpty();
        assertThat(contents.next(Der.OBJECT_IDENTIFIER).encoded()).isEqualTo(Der.objectIdentifier("1.3.101.112"));
        assertThat(contents.hasMore()).isFalse();
    }

    @ParameterizedTest
    @CsvSource({
            "'',             truncated at offset 0",
            "30,             truncated at offset 1",
            "3005020100,     runs past the end",
            "308002010000,   unsupported length encoding 0x80",
            "3084000000010000, unsupported length encoding 0x84",
            "1f0100,         multi-byte tags",
    })
    void rejectsMalformedInput(String input, String reason) {
        byte[] bytes = hex.parseHex(input);

        assertThatThrownBy(() -> new Der.Reader(bytes).next())
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void rejectsAnUnexpectedTag() {
        assertThatThrownBy(() -> new Der.Reader(Der.integer(1)).next(Der.SEQUENCE))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessage("malformed DER: expected tag 0x30 but found 0x02");
    }

    @Test
    void rejectsATruncatedObjectIdentifier() {
        assertThatThrownBy(() -> Der.objectIdentifier(hex.parseHex("2a86")))
                .isInstanceOf(InvalidMaterialException.class)
                .hasMessageContaining("truncated object identifier");
    }
}

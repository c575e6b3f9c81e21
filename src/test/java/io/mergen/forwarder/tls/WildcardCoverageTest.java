package io.mergen.forwarder.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mergen.forwarder.tls.TestCertificates.KeyFormat;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WildcardCoverageTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "[{index}] SANs {0}, domain {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            *.localhost                     | localhost        | true
            *.vm.localhost                  | vm.localhost     | true
            *.localhost                     | vm.localhost     | false
            *.vm.localhost                  | localhost        | false
            app1.localhost                  | localhost        | false
            app1.localhost localhost        | localhost        | false
            *.LOCALHOST                     | localhost        | true
            *.localhost                     | LocalHost        | true
            app1.localhost *.vm.example.com | vm.example.com   | true
            *.vm.example.com                | example.com      | false
            """)
    void coversOnlyTheExactWildcard(String sans, String domain, boolean covered) {
        List<String> names = Arrays.asList(sans.split(" "));
        X509Certificate cert = certificate("leaf", names);

        assertThat(WildcardCoverage.dnsNames(cert)).containsExactlyElementsOf(names);
        assertThat(WildcardCoverage.coversWildcard(cert, domain)).isEqualTo(covered);
    }

    @Test
    void fallsBackToTheCommonNameWithoutSubjectAlternativeNames() {
        X509Certificate cert = certificate("*.localhost", List.of());

        assertThat(cert.getExtensionValue("2.5.29.17")).as("SAN extension").isNull();
        assertThat(WildcardCoverage.dnsNames(cert)).containsExactly("*.localhost");
        assertThat(WildcardCoverage.coversWildcard(cert, "localhost")).isTrue();
        assertThat(WildcardCoverage.coversWildcard(cert, "vm.localhost")).isFalse();
    }

    @Test
    void ignoresTheCommonNameWhenSubjectAlternativeNamesExist() {
        X509Certificate cert = certificate("*.localhost", List.of("app1.localhost"));

        assertThat(WildcardCoverage.dnsNames(cert)).containsExactly("app1.localhost");
        assertThat(WildcardCoverage.coversWildcard(cert, "localhost")).isFalse();
    }

    @Test
    void rejectsABlankDomain() {
        X509Certificate cert = certificate("leaf", List.of("*.localhost"));

        assertThatThrownBy(() -> WildcardCoverage.coversWildcard(cert, " "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("domain: \" \" (expected: a DNS name such as vm.localhost)");
    }

    private X509Certificate certificate(String commonName, List<String> dnsNames) {
        TestCertificates.Issued issued = TestCertificates.issue(dir, KeyFormat.EC_PKCS8, commonName, dnsNames, false);
        return KeyMaterial.load(issued.certFile(), issued.keyFile()).leaf();
    }
}

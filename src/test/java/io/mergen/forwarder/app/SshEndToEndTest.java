package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Real ssh and scp through the forwarder's raw listener to Debian's sshd in a VM namespace: the command runs inside
 * the first VM (oldest createdAt), never in a VM created later, and a file arrives byte-exact.
 */
@Tag("e2e")
class SshEndToEndTest {
    private static final String GUEST_IP = "10.213.20.2";
    private static final String GUEST_RANGE = "10.213.20.0/24";
    private static final int UPLOAD_MIB = 50;
    /** Prints the namespace the remote shell runs in, then the addresses on its loopback. */
    private static final String WHERE_AM_I = "ip netns identify; ip -br addr show lo";

    @TempDir
    static Path work;

    private static final List<GuestVm> vms = new ArrayList<>();
    private static TestForwarder forwarder;
    private static UnreachableRange route;
    private static TestCertificates.Issued certs;
    private static SshClient ssh;
    private static GuestVm first;
    private static GuestVm later;
    private static int rawPort;
    private static int tlsPort;

    @BeforeAll
    static void startSshdAndForwarder() throws Exception {
        RootRequired.check();
        GuestPackages.require(SshGuest.SSHD, "openssh-server");
        GuestPackages.require("/usr/bin/ssh", "openssh-client");
        route = UnreachableRange.add(GUEST_RANGE);
        Path configRoot = Files.createDirectories(work.resolve("vm.d"));
        certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "first.localhost", "later.localhost");
        Path clientKey = SshGuest.clientKey(work);
        ssh = new SshClient(clientKey);

        first = startVm("first", configRoot, clientKey.resolveSibling(clientKey.getFileName() + ".pub"),
                "2026-01-01T00:00:00Z");
        rawPort = TestPorts.free();
        tlsPort = TestPorts.free();
        forwarder = TestForwarder.start(configRoot, certs, Map.of("FWD_LISTENERS",
                "127.0.0.1:" + rawPort + "=22/raw,127.0.0.1:" + tlsPort + "=22/tls"));
        // Created after the forwarder started and younger by createdAt: raw mode must keep choosing the first VM.
        later = startVm("later", configRoot, clientKey.resolveSibling(clientKey.getFileName() + ".pub"),
                "2026-01-02T00:00:00Z");
    }

    private static GuestVm startVm(String name, Path configRoot, Path clientPublicKey, String createdAt) {
        GuestVm vm = GuestVm.create(work, name, GUEST_IP);
        vms.add(vm);
        SshGuest.start(vm, clientPublicKey);
        vm.writeMeta(configRoot, createdAt, "\"tags\": {\"app\": \"" + name + "\"}");
        return vm;
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (forwarder != null) {
            forwarder.close();
        }
        vms.forEach(GuestVm::close);
        if (route != null) {
            route.close();
        }
    }

    @Test
    void commandRunsInsideTheFirstVmsNamespace() {
        Shell.Result result = ssh.run(rawPort, WHERE_AM_I);

        assertThat(result.exitCode()).as(result.stderr()).isZero();
        List<String> lines = result.stdout().lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).isEqualTo(first.netns());
        assertThat(lines.get(1)).startsWith("lo ").contains(GUEST_IP + "/32");
    }

    @Test
    void scpCopiesFiftyMebibytesByteExact() throws Exception {
        Path upload = work.resolve("upload.bin");
        String sha256 = ForwarderEndToEndTest.writeRandomFile(upload, UPLOAD_MIB);
        Path arrived = first.dir().resolve("arrived.bin");

        Shell.Result result = ssh.copy(rawPort, upload, arrived.toString());

        assertThat(result.exitCode()).as(result.stderr()).isZero();
        assertThat(Files.size(arrived)).isEqualTo((long) UPLOAD_MIB << 20);
        assertThat(ForwarderEndToEndTest.sha256(arrived)).isEqualTo(sha256);
        Files.delete(upload);
        Files.delete(arrived);
    }

    @Test
    void vmCreatedLaterIsRoutableByNameButRawModeKeepsTheFirst() {
        // Over TLS with SNI the later VM is reached, so the forwarder knows it and its sshd works ...
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            Shell.Result byName = ssh.runOverTls(tlsPort, "later.localhost", certs.caFile(), "ip netns identify");
            assertThat(byName.stdout().strip()).as(byName.stderr()).isEqualTo(later.netns());
        });

        // ... yet raw mode, which has no name to route by, still lands in the oldest VM.
        Shell.Result raw = ssh.run(rawPort, "ip netns identify");
        assertThat(raw.exitCode()).as(raw.stderr()).isZero();
        assertThat(raw.stdout().strip()).isEqualTo(first.netns());
    }
}

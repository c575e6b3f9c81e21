package io.mergen.forwarder.app;

import io.mergen.forwarder.tls.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Dials that fail at every step leave nothing behind: no descriptor (namespace files included), no thread, and
 * no namespace, link or route the forwarder made. Each failure is checked for the reason the client is told.
 *
 * <p>The steps: the namespace was never there; it was deleted after the VM's route was loaded; it flaps (deleted
 * and re-created while dials go on, so some land between the lookup and the socket); the netns file is a plain
 * file, or a namespace of another type; the guest refuses; the namespace has no route to the guest; the SYN
 * goes unanswered until the dial timeout.
 *
 * <p>CI dials 200 times per step (80 timeouts); the full test 5,000 (1,000 timeouts):
 * {@code ./run-tests -Dtest='*SoakTest' -Dsoak.full=true}.
 */
@Tag("e2e")
class FailedDialLeakSoakTest {
    private static final String GUEST_IP = "10.213.23.2";
    /** Routed into the namespace's loopback, where nothing answers for it: a SYN that is never answered. */
    private static final String SILENT_IP = "10.213.23.50";
    private static final String GUEST_RANGE = "10.213.23.0/24";
    private static final int PER_KIND = Soak.size(200, 5_000);
    private static final int TIMEOUTS = Soak.size(80, 1_000);
    private static final int WARM_UP_PER_KIND = 10;
    /** Clients at once: enough that the 1 s dial timeouts overlap, so they do not dominate the run time. */
    private static final int CLIENTS_AT_ONCE = 40;
    private static final int FD_TOLERANCE = 8;
    private static final int THREAD_TOLERANCE = 2;

    @TempDir
    static Path work;

    /** Each failing step, the VM label that reaches it, and what the client's 502 must say. */
    enum Kind {
        MISSING("missing", "not found in"),
        DELETED("deleted", "not found in"),
        FLAPPING("flapping", ""),
        PLAIN_FILE("plainfile", "is not a network namespace"),
        OTHER_NAMESPACE("utsns", "is not a network namespace"),
        REFUSED("refused", "connection refused"),
        NO_ROUTE("noroute", "no route to host"),
        TIMEOUT("silent", "timed out after 1000 ms");

        final String label;
        final String reason;

        Kind(String label, String reason) {
            this.label = label;
            this.reason = reason;
        }
    }

    private static final List<GuestVm> vms = new ArrayList<>();
    private static final String flappingNetns = "mfwd-f" + UUID.randomUUID().toString().substring(0, 7);
    private static final AtomicBoolean flapping = new AtomicBoolean();
    private static final AtomicReference<Throwable> flapFailure = new AtomicReference<>();
    private static String deletedNetns;
    private static UnreachableRange route;
    private static Forwarder forwarder;
    private static SoakClients.PerServerName clients;
    private static Path configRoot;
    private static int port;

    @BeforeAll
    static void startForwarderWithFailingVms() throws Exception {
        RootRequired.check();
        route = UnreachableRange.add(GUEST_RANGE);
        configRoot = Files.createDirectories(work.resolve("vm.d"));
        Path netnsRoot = Files.createDirectories(work.resolve("netns"));

        meta(Kind.MISSING, "mfwd-n" + UUID.randomUUID().toString().substring(0, 7), GUEST_IP);
        GuestVm deleted = vm("deleted");
        deletedNetns = deleted.netns();
        meta(Kind.DELETED, deletedNetns, GUEST_IP);
        meta(Kind.FLAPPING, flappingNetns, GUEST_IP);
        Files.writeString(netnsRoot.resolve("mfwd-plainfile"), "not a namespace\n");
        meta(Kind.PLAIN_FILE, "mfwd-plainfile", GUEST_IP);
        Files.createSymbolicLink(netnsRoot.resolve("mfwd-utsns"), Path.of("/proc/self/ns/uts"));
        meta(Kind.OTHER_NAMESPACE, "mfwd-utsns", GUEST_IP);
        meta(Kind.REFUSED, vm("refused").netns(), GUEST_IP);
        GuestVm noRoute = vm("noroute");
        noRoute.exec("ip", "addr", "del", GUEST_IP + "/32", "dev", "lo").orThrow();
        meta(Kind.NO_ROUTE, noRoute.netns(), GUEST_IP);
        GuestVm silent = vm("silent");
        silent.exec("ip", "route", "add", SILENT_IP + "/32", "dev", "lo").orThrow();
        meta(Kind.TIMEOUT, silent.netns(), SILENT_IP);

        TestCertificates.Issued certs = TestCertificates.issue(Files.createDirectories(work.resolve("pki")),
                "*.localhost", "missing.localhost", "deleted.localhost", "flapping.localhost", "plainfile.localhost",
                "utsns.localhost", "refused.localhost", "noroute.localhost", "silent.localhost");
        port = TestPorts.free();
        forwarder = SoakForwarders.inNamespaces(configRoot, certs, Map.of(
                "FWD_LISTENERS", "127.0.0.1:" + port + "=443",
                "FWD_NETNS_ROOT", netnsRoot.toString(),
                "FWD_DIAL_TIMEOUT_SECONDS", "1"));
        // The VM's route is loaded now; its namespace goes away before any dial.
        deleted.deleteNamespace();
        clients = new SoakClients.PerServerName(certs.caFile());
    }

    private static GuestVm vm(String name) {
        GuestVm vm = GuestVm.create(work, name, GUEST_IP);
        vms.add(vm);
        return vm;
    }

    private static void meta(Kind kind, String netns, String guestIp) throws Exception {
        String id = UUID.randomUUID().toString();
        Files.writeString(Files.createDirectories(configRoot.resolve(id)).resolve("meta.json"), """
                {"id": "%s", "guestIP": "%s", "netns": "%s", "tags": {"app": "%s"}}
                """.formatted(id, guestIp, netns, kind.label));
    }

    @AfterAll
    static void stop() throws Exception {
        flapping.set(false);
        if (forwarder != null) {
            forwarder.shutdown(Duration.ZERO);
        }
        vms.forEach(GuestVm::close);
        Shell.quietly("ip", "netns", "del", flappingNetns);
        if (route != null) {
            route.close();
        }
    }

    @Test
    void failedDialsLeaveNoDescriptorsThreadsNamespacesLinksOrRoutes() throws Exception {
        try (QuietLogs quiet = QuietLogs.start()) {
            runAll(WARM_UP_PER_KIND, WARM_UP_PER_KIND, false);
            await().atMost(Duration.ofSeconds(30)).pollInSameThread().until(() -> forwarder.activeConnections() == 0);
            ProcessResources.Snapshot before = ProcessResources.Snapshot.take();
            Set<String> linksBefore = hostLinks();
            Map<String, String> namespaceLinksBefore = namespaceLinks();
            String routesBefore = route.routes();

            Map<Kind, Map<String, Integer>> reasons = runAll(PER_KIND, TIMEOUTS, true);

            await().atMost(Duration.ofSeconds(30)).pollInSameThread().until(() -> forwarder.activeConnections() == 0);
            await().atMost(Duration.ofSeconds(30)).pollInSameThread().pollInterval(Duration.ofMillis(200))
                    .untilAsserted(() -> assertThat(ProcessResources.fds().total()).as("open descriptors, baseline %s, now %s",
                            before.fds(), ProcessResources.fds()).isLessThanOrEqualTo(before.fds().total() + FD_TOLERANCE));
            await().atMost(Duration.ofSeconds(30)).pollInSameThread().pollInterval(Duration.ofMillis(200))
                    .untilAsserted(() -> assertThat(ProcessResources.threads()).as("live threads")
                            .isLessThanOrEqualTo(before.threads() + THREAD_TOLERANCE));
            ProcessResources.Snapshot after = ProcessResources.Snapshot.take();
            System.out.printf(Locale.ROOT, "soak[%s] failed dials, %d per kind (%d timeouts): %s; before %s; after %s%n",
                    Soak.mode(), PER_KIND, TIMEOUTS, reasons, before, after);

            assertThat(after.fds().of("net")).as("namespace descriptors").isEqualTo(before.fds().of("net"));
            assertThat(after.fds().of("socket")).as("sockets").isLessThanOrEqualTo(before.fds().of("socket"));
            assertThat(hostLinks()).as("host links").isEqualTo(linksBefore);
            assertThat(namespaceLinks()).as("links inside the VMs' namespaces").isEqualTo(namespaceLinksBefore);
            assertThat(route.routes()).as("host routes in " + GUEST_RANGE).isEqualTo(routesBefore);
            assertThat(flapFailure.get()).as("the flapping namespace's add/delete loop").isNull();
            assertThat(namespaces()).as("namespaces").doesNotContain(flappingNetns, deletedNetns);
        }
    }

    /**
     * Runs every kind {@code perKind} times ({@code timeouts} for the slow one), shuffled, from a pool of
     * platform threads that is gone before this returns (so it adds no threads to what is counted).
     * Returns, per kind, how often each reason came back.
     */
    private static Map<Kind, Map<String, Integer>> runAll(int perKind, int timeouts, boolean flap) throws Exception {
        List<Kind> plan = new ArrayList<>();
        for (Kind kind : Kind.values()) {
            plan.addAll(Collections.nCopies(kind == Kind.TIMEOUT ? timeouts : perKind, kind));
        }
        Collections.shuffle(plan, new Random(23));
        Map<Kind, Map<String, Integer>> reasons = new EnumMap<>(Kind.class);
        Map<String, Integer> failures = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS_AT_ONCE);
        Thread flapper = null;
        try {
            if (flap) {
                flapping.set(true);
                flapper = Thread.ofPlatform().name("netns-flapper").start(FailedDialLeakSoakTest::flap);
            }
            List<Future<String>> results = new ArrayList<>();
            for (Kind kind : plan) {
                results.add(pool.submit(() -> dial(kind)));
            }
            for (int i = 0; i < plan.size(); i++) {
                String reason = results.get(i).get(120, TimeUnit.SECONDS);
                Kind kind = plan.get(i);
                reasons.computeIfAbsent(kind, k -> new TreeMap<>()).merge(category(reason), 1, Integer::sum);
                if (!reason.contains(kind.reason) || !reason.startsWith("502 ")) {
                    failures.merge(kind + ": " + reason, 1, Integer::sum);
                }
            }
        } finally {
            flapping.set(false);
            if (flapper != null) {
                flapper.join(30_000);
            }
            pool.shutdownNow();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).as("client pool stopped").isTrue();
        }
        assertThat(failures).as("dials that did not fail as expected").isEmpty();
        return reasons;
    }

    /** One connection to the VM of {@code kind}: "<status> <body>", or the client-side exception. */
    private static String dial(Kind kind) {
        String serverName = kind.label + ".localhost";
        try (SSLSocket socket = clients.connect(port, serverName)) {
            SoakClients.Response response = SoakClients.get(socket, serverName, "/");
            return response.status() + " " + response.body().strip();
        } catch (Exception e) {
            return e.toString();
        }
    }

    /** The reason without the VM's name and address: "connection refused", "not found in", ... */
    private static String category(String reason) {
        return Arrays.stream(Kind.values()).map(k -> k.reason).filter(r -> !r.isEmpty() && reason.contains(r))
                .findFirst().orElse(reason);
    }

    /** Deletes and re-creates the flapping VM's namespace until told to stop; leaves it deleted. */
    private static void flap() {
        try {
            while (flapping.get()) {
                Shell.run("ip", "netns", "add", flappingNetns).orThrow();
                Shell.run("ip", "-n", flappingNetns, "link", "set", "lo", "up").orThrow();
                Shell.run("ip", "-n", flappingNetns, "addr", "add", GUEST_IP + "/32", "dev", "lo").orThrow();
                Shell.run("ip", "netns", "del", flappingNetns).orThrow();
            }
        } catch (RuntimeException e) {
            flapFailure.set(e);
        } finally {
            Shell.quietly("ip", "netns", "del", flappingNetns);
        }
    }

    private static Set<String> hostLinks() {
        return Shell.run("ip", "-o", "link", "show").orThrow().stdout().lines()
                .map(line -> line.split(":\\s+")[1]).collect(Collectors.toCollection(TreeSet::new));
    }

    /** {@code ip -o link} of every namespace of ours that exists, by namespace name. */
    private static Map<String, String> namespaceLinks() {
        Map<String, String> links = new TreeMap<>();
        for (GuestVm vm : vms) {
            Shell.Result result = Shell.run("ip", "-n", vm.netns(), "-o", "link", "show");
            if (result.exitCode() == 0) {
                links.put(vm.netns(), result.stdout());
            }
        }
        return links;
    }

    private static Set<String> namespaces() {
        return Shell.run("ip", "netns", "list").orThrow().stdout().lines()
                .map(line -> line.split("\\s+")[0]).collect(Collectors.toCollection(TreeSet::new));
    }
}

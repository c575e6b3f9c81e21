package io.mergen.forwarder.resolver;

import io.mergen.forwarder.Bench;
import io.mergen.forwarder.config.DomainRule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Routing a server name, as the SNI stage does for every connection: {@link VmResolver#route} over a snapshot read
 * from real meta.json files, with 1, 100 or 10,000 VMs; a hit by tag, a hit by id prefix, and a miss.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ResolveBenchmark {
    @Param({"1", "100", "10000"})
    public int vms;

    private Path dir;
    private VmResolver resolver;
    /** Fields, not constants, so the JIT cannot fold the look-ups away. */
    private String byTag;
    private String byIdPrefix;
    private String miss;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Bench.quietLogs();
        dir = Files.createTempDirectory("mfwd-jmh-resolve");
        try {
            for (int i = 0; i < vms; i++) {
                Bench.writeMeta(dir, Bench.vmId(i), "app" + i, "10.213.34.2", "mfwd-jmh-unused");
            }
            resolver = new VmResolver(dir, Duration.ZERO, new DomainRule("vm", "localhost"));
            resolver.reload();
            int middle = vms / 2;
            byTag = "app" + middle + ".vm.localhost";
            byIdPrefix = Bench.vmId(middle).substring(0, 8) + ".vm.localhost";
            miss = "nosuchvm.vm.localhost";
            check(resolver.current().vms().size() == vms, "expected " + vms + " VMs: " + resolver.current());
            check(resolver.route(byTag) instanceof Route.Found, byTag + " is not found");
            check(resolver.route(byIdPrefix) instanceof Route.Found, byIdPrefix + " is not found");
            check(resolver.route(miss) instanceof Route.UnknownLabel, miss + " is not a miss");
        } catch (Exception | Error e) {
            tearDown();
            throw e;
        }
    }

    private static void check(boolean ok, String problem) {
        if (!ok) {
            throw new IllegalStateException(problem);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (resolver != null) {
            resolver.close();
        }
        Bench.delete(dir);
    }

    @Benchmark
    public Route hitByTag() {
        return resolver.route(byTag);
    }

    @Benchmark
    public Route hitByIdPrefix() {
        return resolver.route(byIdPrefix);
    }

    @Benchmark
    public Route miss() {
        return resolver.route(miss);
    }
}

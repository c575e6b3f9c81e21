package io.mergen.forwarder;

import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * Adds {@code cpu.norm}: CPU time of the whole benchmark JVM (every thread, user and system) per operation.
 *
 * <p>On a shared machine the wall-clock score counts the time other processes held the CPU; CPU time does not, so
 * it is the steadier figure there, as for the forwarder itself. It includes what an operation makes other threads
 * do (GC, an event loop, the dial benchmark's acceptor) and the JMH harness's own small share.
 * Use: {@code -prof io.mergen.forwarder.CpuTimeProfiler}.
 */
public final class CpuTimeProfiler implements InternalProfiler {
    private final com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private long startNanos;

    @Override
    public String getDescription() {
        return "CPU time of the benchmark JVM (all threads, user + system) per operation";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        startNanos = os.getProcessCpuTime();
    }

    @Override
    @SuppressWarnings("rawtypes") // InternalProfiler declares the raw type
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams,
            IterationParams iterationParams, IterationResult result) {
        long used = os.getProcessCpuTime() - startNanos;
        long ops = result.getMetadata().getAllOps();
        double perOp = ops == 0 ? Double.NaN : (double) used / ops;
        return List.of(new ScalarResult("cpu.norm", perOp, "ns/op", AggregationPolicy.AVG));
    }
}

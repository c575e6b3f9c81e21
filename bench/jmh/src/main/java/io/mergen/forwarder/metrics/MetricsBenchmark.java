package io.mergen.forwarder.metrics;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the metrics cost a connection: the byte counters on every relayed read, and the meter look-ups and
 * updates done once per connection (accept, relay start, dial time, close).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MetricsBenchmark {
    private static final String LISTENER = ":443=443";
    private static final String VM = "084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f";
    /** A typical read from a TLS socket: one record's plaintext. */
    private static final int READ_BYTES = 16_384;
    private static final Duration DIAL = Duration.ofNanos(45_000);

    private ForwarderMetrics metrics;
    private ForwarderMetrics.ByteCounters counters;

    @Setup
    public void setUp() {
        metrics = new ForwarderMetrics();
        counters = metrics.bytes(LISTENER, VM);
        // The meters exist already in a running forwarder; the benchmark measures finding them, not creating them.
        metrics.accepted(LISTENER);
        metrics.closed(LISTENER, "ok");
        metrics.vmConnected(VM);
        metrics.vmDisconnected(VM);
    }

    /** Per relayed read: the listener's and the VM's counter for one direction. */
    @Benchmark
    public void perRead_byteCounters() {
        counters.addFromClient(READ_BYTES);
    }

    /** Per connection: the four byte counters looked up by name and tags when the relay starts. */
    @Benchmark
    public ForwarderMetrics.ByteCounters perConnection_bytesLookup() {
        return metrics.bytes(LISTENER, VM);
    }

    /** Per dialed connection: one sample into the dial-time histogram (percentile buckets). */
    @Benchmark
    public void perConnection_dialTimer() {
        metrics.dialed(DIAL);
    }

    /** Everything ForwarderMetrics does for one relayed connection, from accept to close. */
    @Benchmark
    public ForwarderMetrics.ByteCounters perConnection_all() {
        metrics.accepted(LISTENER);
        metrics.dialed(DIAL);
        ForwarderMetrics.ByteCounters bytes = metrics.bytes(LISTENER, VM);
        metrics.vmConnected(VM);
        metrics.vmDisconnected(VM);
        metrics.closed(LISTENER, "ok");
        return bytes;
    }
}

package io.mergen.forwarder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.Main;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * JMH's own command line, and after a run a short summary under JMH's table: per benchmark the mean, the best
 * measurement iteration (the least disturbed by other processes on a shared machine, so the closest to the cost
 * itself), CPU time per operation when {@link CpuTimeProfiler} ran, and bytes allocated per operation when
 * {@code -prof gc} ran.
 */
public final class BenchMain {
    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions options = new CommandLineOptions(args);
        if (options.shouldHelp() || options.shouldList() || options.shouldListWithParams()
                || options.shouldListProfilers() || options.shouldListResultFormats()) {
            Main.main(args);
            return;
        }
        Collection<RunResult> results;
        try {
            results = new Runner(options).run();
        } catch (RunnerException e) {
            // JMH wraps the real failure (a benchmark that threw, a fork that died) with no message of its own.
            e.printStackTrace();
            System.exit(1);
            return;
        }
        printSummary(results);
    }

    private static void printSummary(Collection<RunResult> results) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"Summary", "params", "mean ns/op", "best ns/op", "CPU ns/op (best)", "B/op"});
        for (RunResult run : results) {
            BenchmarkParams params = run.getParams();
            List<IterationResult> iterations = new ArrayList<>();
            for (BenchmarkResult fork : run.getBenchmarkResults()) {
                iterations.addAll(fork.getIterationResults());
            }
            double best = iterations.stream().mapToDouble(i -> i.getPrimaryResult().getScore()).min().orElse(Double.NaN);
            double bestCpu = iterations.stream().map(i -> (Result<?>) i.getSecondaryResults().get("cpu.norm"))
                    .filter(r -> r != null).mapToDouble(Result::getScore).min().orElse(Double.NaN);
            Result<?> alloc = run.getSecondaryResults().get("gc.alloc.rate.norm");
            String unit = run.getPrimaryResult().getScoreUnit();
            rows.add(new String[] {
                shortName(params.getBenchmark()), params(params),
                ns(run.getPrimaryResult().getScore(), unit), ns(best, unit), ns(bestCpu, "ns/op"),
                alloc == null ? "" : String.format(Locale.ROOT, "%,.0f", alloc.getScore())});
        }
        System.out.println();
        print(rows);
    }

    /** {@code io.mergen.forwarder.relay.SniRouteBenchmark.routeToTls} as {@code SniRoute.routeToTls}. */
    private static String shortName(String benchmark) {
        String[] parts = benchmark.split("\\.");
        return parts[parts.length - 2].replace("Benchmark", "") + "." + parts[parts.length - 1];
    }

    private static String params(BenchmarkParams params) {
        List<String> out = new ArrayList<>();
        for (String key : params.getParamsKeys()) {
            out.add(key + "=" + params.getParam(key));
        }
        return String.join(" ", out);
    }

    private static String ns(double score, String unit) {
        if (Double.isNaN(score)) {
            return "";
        }
        double nanos = switch (unit) {
            case "ns/op" -> score;
            case "us/op" -> score * 1e3;
            case "ms/op" -> score * 1e6;
            case "s/op" -> score * 1e9;
            default -> Double.NaN;
        };
        return Double.isNaN(nanos) ? String.format(Locale.ROOT, "%.3f %s", score, unit)
                : String.format(Locale.ROOT, nanos < 100 ? "%,.1f" : "%,.0f", nanos);
    }

    private static void print(List<String[]> rows) {
        int[] widths = new int[rows.getFirst().length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                // Names left-aligned, figures right-aligned, as in JMH's table.
                String cell = i < 2 ? String.format("%-" + widths[i] + "s", row[i])
                        : String.format("%" + widths[i] + "s", row[i]);
                line.append(i == 0 ? "" : "  ").append(cell);
            }
            System.out.println(line.toString().stripTrailing());
        }
    }
}

package io.mergen.forwarder.relay;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mergen.forwarder.FuzzTries;
import io.mergen.forwarder.NettyLeaks;
import io.mergen.forwarder.relay.SniPipeline.Listener;
import io.mergen.forwarder.relay.SniPipeline.Run;
import io.mergen.forwarder.relay.SniPipeline.State;
import io.mergen.forwarder.resolver.Route;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;

/**
 * Fuzzes the ClientHello reader in the real client pipeline ({@link ForwarderInitializer}: Postgres opening, SNI
 * router, BoringSSL handshake, connector) with generated ClientHellos, their mutations and random bytes, delivered
 * in arbitrary segments: the connection always ends up closed, proceeding to TLS or waiting for more bytes (and
 * then closed by the handshake timeout); the server name recorded is the one the hello carried and routes as the
 * resolver says; the outcome does not depend on how the bytes were segmented; no Error escapes, nothing runs away,
 * every buffer is released. Tries: see {@link FuzzTries}.
 */
@AddLifecycleHook(FuzzTries.class)
class ServerNameRouterFuzzTest {
    /** ServerNameRouter's MAX_CLIENT_HELLO_LENGTH. */
    private static final int ROUTER_MAX_CLIENT_HELLO = 64 * 1024;
    private static SniPipeline pipeline;
    private static NettyLeaks leaks;

    @BeforeContainer
    static void openPipeline() throws IOException {
        pipeline = SniPipeline.open();
        leaks = NettyLeaks.paranoid();
    }

    @AfterContainer
    static void closePipeline() throws IOException {
        try {
            leaks.assertNoneReported();
        } finally {
            leaks.close();
            pipeline.close();
        }
    }

    @BeforeAll
    static void openPipelineForRegressions() throws IOException {
        pipeline = SniPipeline.open();
    }

    @AfterAll
    static void closePipelineForRegressions() throws IOException {
        pipeline.close();
    }

    /** A record header and the most a TLS record may carry (RFC 8446 section 5.1). */
    private static final int ONE_RECORD = 5 + 16_384;

    @Property
    void validHellosAreRoutedByTheirServerNameWhateverTheSegments(@ForAll("hellos") ClientHellos.Hello hello,
            @ForAll Listener listener, @ForAll("segments") List<Integer> segments) {
        Run run = pipeline.run(listener, hello.wire(), segments);
        checkAlways(run);
        Statistics.label("state").collect(listener, run.state(), run.firstReply());

        if (hello.bodyLength() > ROUTER_MAX_CLIENT_HELLO) {
            assertThat(run.state()).as("a hello beyond the router's limit").isEqualTo(State.CLOSED);
            assertThat(run.outcome()).isEqualTo(Outcome.HANDSHAKE_FAILED);
            assertThat(run.serverName()).isNull();
        } else if (hello.wire().length > ONE_RECORD) {
            // Spread over several TLS records (only hellos over 16 KiB are, as real stacks send them): the
            // ClientHello reader of Netty 4.2.12, pinned in pom.xml, misses the name, and BoringSSL refuses such a
            // hello anyway (EXCESSIVE_MESSAGE_SIZE); what must hold is that the connection ends cleanly.
            assertThat(run.state()).isEqualTo(State.CLOSED);
        } else {
            String name = hello.reportedName();
            assertThat(run.serverName()).as("server name recorded").isEqualTo(name);
            Route route = pipeline.route(name);
            if (listener.refusesBeforeHandshake() && !(route instanceof Route.Found)) {
                assertThat(run.state()).isEqualTo(State.CLOSED);
                assertThat(run.firstReply()).as("unrecognized_name alert").isEqualTo("alert 02 70");
                assertThat(run.routes()).isEmpty();
                assertThat(run.outcome()).isIn(Outcome.NO_SNI, Outcome.OUTSIDE_DOMAIN, Outcome.UNKNOWN_VM);
            } else {
                assertThat(run.routes()).as("routes decided").containsExactly(route);
                if (hello.acceptable()) {
                    assertThat(run.state()).as("state after %s (reply %s)", hello, run.firstReply())
                            .isEqualTo(State.TLS);
                    assertThat(run.firstReply()).as("first reply").isEqualTo("handshake 02");
                } else {
                    assertThat(run.state()).isIn(State.TLS, State.CLOSED);
                }
            }
        }
        if (hello.wire().length <= ONE_RECORD) {
            assertThat(pipeline.run(listener, hello.wire(), List.of(Integer.MAX_VALUE)).summary())
                    .as("the same hello in one piece").isEqualTo(run.summary());
        }
    }

    @Property
    void mutatedHellosAndRandomBytesEndClosedOrInTlsWhateverTheSegments(@ForAll("damaged") byte[] bytes,
            @ForAll Listener listener, @ForAll("segments") List<Integer> segments) {
        Run run = pipeline.run(listener, bytes, segments);
        checkAlways(run);
        Statistics.label("state").collect(listener, run.state(), run.firstReply());
        Statistics.label("thrown out of the pipeline")
                .collect(run.thrown().isEmpty() ? "nothing" : run.thrown().getFirst());

        if (!run.routes().isEmpty()) {
            assertThat(run.routes()).containsExactly(pipeline.route(run.serverName()));
        }
        if (bytes.length <= ONE_RECORD) {
            // Beyond one record Netty 4.2.12's reader depends on how the records arrive (see the property above).
            assertThat(pipeline.run(listener, bytes, List.of(Integer.MAX_VALUE)).summary())
                    .as("the same bytes in one piece").isEqualTo(run.summary());
        }
    }

    @Property
    @FuzzTries.Share(percent = 2)
    void everyTruncatedHelloWaitsForTheRestUntilTheTimeout(@ForAll("smallHellos") ClientHellos.Hello hello,
            @ForAll Listener listener, @ForAll("segments") List<Integer> segments) {
        byte[] wire = hello.wire();
        for (int length = 0; length < wire.length; length++) {
            byte[] prefix = Arrays.copyOf(wire, length);
            Run run = pipeline.run(listener, prefix, segments);
            checkAlways(run);
            assertThat(run.state()).as("after %d of %d bytes", length, wire.length).isEqualTo(State.WAITING);
            assertThat(run.replies()).as("replies after %d of %d bytes", length, wire.length).isEmpty();
            assertThat(run.serverName()).isNull();
        }
    }

    /**
     * Regression (found by {@link #mutatedHellosAndRandomBytesEndClosedOrInTlsWhateverTheSegments}): a listener
     * that refuses an unknown name before the handshake (Kafka, opaque streams) leaves the router in the pipeline.
     * When the connection closes, Netty's decoder reads the buffered bytes once more, so the router decides again:
     * a second lookup and refusal on the closed channel, and, when bytes follow a hello that came in several
     * records, a server name of null that overwrites the one logged for the connection.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "one record,                16384, ''",
            "one record and more bytes, 16384, 0000000000",
            "three records,             100,   ''",
            "'three records and more bytes', 100, 0000000000"})
    void regressionARefusedHelloIsDecidedOnce(String description, int fragment, String trailing) {
        ClientHellos.Hello hello = ClientHellos.build(new ClientHellos.Spec()
                .host("unknown.localhost".getBytes(StandardCharsets.US_ASCII)).fragments(List.of(fragment)));
        byte[] bytes = Arrays.copyOf(hello.wire(), hello.wire().length + trailing.length() / 2);
        System.arraycopy(HexFormat.of().parseHex(trailing), 0, bytes, hello.wire().length, trailing.length() / 2);

        Run run = pipeline.run(Listener.KAFKA, bytes, List.of(bytes.length));

        assertThat(run.firstReply()).isEqualTo("alert 02 70");
        assertThat(run.outcome()).isEqualTo(Outcome.UNKNOWN_VM);
        assertThat(run.serverName()).as("server name logged").isEqualTo("unknown.localhost");
        assertThat(run.sniCompletions()).as("times the router decided").isEqualTo(1);
    }

    /**
     * Regression (found by {@link #validHellosAreRoutedByTheirServerNameWhateverTheSegments}, whose expected name
     * keeps control characters because Netty does): the server name is client bytes, and the access log writes it,
     * also inside the refusal reason, unescaped. In the default console format ({@code %msg %kvp}) a client can
     * break the connection line and forge lines of its own (CR, LF, or terminal escape sequences).
     */
    @Test
    void regressionAServerNameCannotBreakTheAccessLogLine() {
        String forged = "x.example\r\n2026-01-01T00:00:00.000Z INFO  mergen.access connection closed"
                + " outcome=\"ok\"\u001b[2K";
        ClientHellos.Hello hello = ClientHellos.build(new ClientHellos.Spec()
                .host(forged.getBytes(StandardCharsets.US_ASCII)));
        Logger access = (Logger) LoggerFactory.getLogger(ConnectionLog.LOGGER_NAME);
        Level level = access.getLevel();
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        access.addAppender(lines);
        access.setLevel(Level.INFO);
        try {
            Run run = pipeline.run(Listener.KAFKA, hello.wire(), List.of(hello.wire().length));
            assertThat(run.outcome()).isEqualTo(Outcome.OUTSIDE_DOMAIN);
        } finally {
            access.setLevel(level);
            access.detachAppender(lines);
        }
        PatternLayout console = new PatternLayout();
        console.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        console.setPattern("%msg %kvp"); // app/Logging's console pattern, without time, level and logger
        console.start();

        assertThat(lines.list).singleElement().satisfies(event -> assertThat(console.doLayout(event))
                .as("the connection's log line").doesNotContain("\r", "\n", "\u001b"));
    }

    /** What every run must satisfy, whatever its input. */
    private static void checkAlways(Run run) {
        assertThat(run.errors()).as("Errors thrown in the pipeline").isEmpty();
        assertThat(run.unreleased()).as("buffers not released").isEmpty();
        assertThat(run.state()).isNotEqualTo(State.UNEXPECTED);
        assertThat(run.sniCompletions()).as("times the router decided").isLessThanOrEqualTo(1);
        assertThat(run.closedAfterTimeout()).as("closed once the handshake timeout passed").isTrue();
    }

    @Provide
    Arbitrary<ClientHellos.Hello> hellos() {
        return ClientHellos.hellos();
    }

    @Provide
    Arbitrary<ClientHellos.Hello> smallHellos() {
        return ClientHellos.smallHellos();
    }

    @Provide
    Arbitrary<byte[]> damaged() {
        return Arbitraries.frequencyOf(
                Tuple.of(8, ClientHellos.mutatedHellos()),
                Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(2_000)),
                Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(20)
                        .map(b -> {
                            byte[] out = Arrays.copyOf(new byte[] {0x16, 0x03, 0x01}, 3 + b.length);
                            System.arraycopy(b, 0, out, 3, b.length);
                            return out;
                        })));
    }

    /** Segment sizes, used in turn: tiny ones cut every header, big ones deliver whole records. */
    @Provide
    Arbitrary<List<Integer>> segments() {
        return Arbitraries.oneOf(
                Arbitraries.integers().between(1, 16).list().ofMinSize(1).ofMaxSize(8),
                Arbitraries.integers().between(1, 70_000).list().ofMinSize(1).ofMaxSize(4),
                Arbitraries.of(List.of(1), List.of(Integer.MAX_VALUE)));
    }
}

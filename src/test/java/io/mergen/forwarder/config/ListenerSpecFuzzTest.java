package io.mergen.forwarder.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mergen.forwarder.DnsGuard;
import io.mergen.forwarder.FuzzTries;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.statistics.Statistics;

/**
 * Fuzzes {@link ListenerSpec#parse} with arbitrary text and with entries built from the syntax's parts: it either
 * accepts, and then {@link ListenerSpec#text()} parses back to the same listener, or rejects with an
 * IllegalArgumentException and a reason; it never resolves a host name. Tries: see {@link FuzzTries}.
 */
@AddLifecycleHook(FuzzTries.class)
class ListenerSpecFuzzTest {
    private static final Pattern PLAIN_PORT = Pattern.compile("0*([1-9][0-9]{0,4})");

    @Property
    void anyTextIsAcceptedAndRoundTripsOrRejectedWithAReason(@ForAll("anyText") String entry) {
        check(entry);
    }

    @Property
    void entriesFromTheSyntaxAreAcceptedExactlyWhenTheirPartsAreValid(@ForAll("entries") Entry entry) {
        ListenerSpec spec = check(entry.text());

        if (entry.valid()) {
            assertThat(spec).as("a valid entry %s", entry).isNotNull();
        }
        if (spec != null) {
            assertThat(spec.port()).isEqualTo(Integer.parseInt(entry.port().strip()));
            assertThat(spec.guestPort()).isEqualTo(Integer.parseInt(entry.guestPort().strip()));
        }
    }

    /** Parses {@code entry} with the checks every input gets; null when it was rejected. */
    static ListenerSpec check(String entry) {
        AtomicReference<ListenerSpec> parsed = new AtomicReference<>();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        List<String> lookups = DnsGuard.lookupsDuring(() -> thrown.set(catchThrowable(() -> {
            ListenerSpec spec = ListenerSpec.parse(entry);
            parsed.set(spec);
            spec.bindAddress();
        })));
        assertThat(lookups).as("host name lookups").isEmpty();
        ListenerSpec spec = parsed.get();
        Statistics.label("answer").collect(spec != null ? "accepted" : "rejected");
        if (spec == null) {
            assertThat(thrown.get()).isExactlyInstanceOf(IllegalArgumentException.class);
            assertThat(thrown.get().getMessage()).isNotBlank();
            return null;
        }
        assertThat(thrown.get()).as("bindAddress() of %s", spec).isNull();
        String text = spec.text();
        assertThat(ListenerSpec.parse(text)).as("text() %s parses back", text).isEqualTo(spec);
        assertThat(ListenerSpec.parse(" \t" + entry + " ")).as("blanks around the entry").isEqualTo(spec);
        return spec;
    }

    @Provide
    Arbitrary<String> anyText() {
        Arbitrary<String> unicode = Arbitraries.strings().all().ofMaxLength(60);
        Arbitrary<String> syntax = Arbitraries.strings()
                .withChars(":=/+[]%.,-0123456789abcdefxHhTtLlSsRrWw \t\n\u0000\u00a0\u2028\u0663\uff11")
                .ofMaxLength(40);
        Arbitrary<String> mutated = Combinators.combine(entries().map(Entry::text),
                Arbitraries.integers().between(0, 60),
                Arbitraries.oneOf(Arbitraries.chars(), Arbitraries.of('0', '9', ' ', ':', '[', '\u00a0', '\u3000')),
                Arbitraries.of(true, false))
                .as((text, at, c, insert) -> {
                    StringBuilder out = new StringBuilder(text);
                    int i = Math.min(at, out.length());
                    if (insert || i == out.length()) {
                        out.insert(i, c);
                    } else {
                        out.setCharAt(i, c);
                    }
                    return out.toString();
                });
        return Arbitraries.oneOf(unicode, syntax, mutated);
    }

    /** An entry put together from the syntax's parts, and whether every part is one the syntax allows. */
    record Entry(String text, String port, String guestPort, boolean valid) {
    }

    @Provide
    static Arbitrary<Entry> entries() {
        return entries(ports());
    }

    /** Entries whose guest port comes from {@code guestPorts}. */
    static Arbitrary<Entry> entries(Arbitrary<Part> guestPorts) {
        return Combinators.combine(hosts(), ports(), guestPorts, modes())
                .as((host, port, guest, mode) -> {
                    boolean raw = mode.text().toLowerCase(Locale.ROOT).startsWith("/raw")
                            || (mode.text().isEmpty() && isPort(guest.text()) && Integer.parseInt(guest.text()) == 22);
                    boolean options = mode.text().contains("+");
                    boolean valid = host.valid() && isPort(port.text()) && isPort(guest.text()) && mode.valid()
                            && !(raw && options);
                    return new Entry(host.text() + ":" + port.text() + "=" + guest.text() + mode.text(),
                            port.text(), guest.text(), valid);
                });
    }

    /** A piece of an entry and whether the syntax allows it. */
    record Part(String text, boolean valid) {
    }

    private static Arbitrary<Part> hosts() {
        Arbitrary<Integer> octet = Arbitraries.integers().between(0, 255);
        Arbitrary<Part> v4 = octet.list().ofSize(4).map(o -> new Part(
                o.get(0) + "." + o.get(1) + "." + o.get(2) + "." + o.get(3), true));
        Arbitrary<Part> v6 = Arbitraries.integers().between(0, 0xffff).list().ofSize(8)
                .flatMap(hextets -> Arbitraries.integers().between(-1, 7).map(gap -> new Part("[" + ipv6(hextets, gap)
                        + "]", true)));
        Arbitrary<Part> known = Arbitraries.of(
                new Part("", true), new Part("localhost", true), new Part("LOCALHOST", true),
                new Part("127.000.000.001", true), new Part("[::]", true), new Part("[::ffff:1.2.3.4]", true),
                new Part("::1", false), new Part("[::1", false), new Part("[::1]]", false),
                new Part("[1.2.3.4]", false),
                new Part("[fe80::1%eth0]", false), new Part("[fe80::1%1]", false), new Part("example.com", false),
                new Part("localhost.", false), new Part("1.2.3", false), new Part("256.1.1.1", false),
                new Part("1.2.3.4.5", false), new Part("[]", false), new Part("[[::1]]", false),
                new Part("\u0661.\u0662.\u0663.\u0664", false), new Part("l\u0131calhost", false),
                new Part("local\u0000host", false));
        return Arbitraries.oneOf(v4, v6, known);
    }

    /** Eight hextets, the two from {@code gap} on (if any) written as "::". */
    private static String ipv6(List<Integer> hextets, int gap) {
        List<String> groups = hextets.stream().map(Integer::toHexString).toList();
        if (gap < 0) {
            return String.join(":", groups);
        }
        return String.join(":", groups.subList(0, gap)) + "::"
                + String.join(":", groups.subList(Math.min(8, gap + 2), 8));
    }

    static Arbitrary<Part> ports() {
        Arbitrary<Part> plain = Arbitraries.integers().between(1, 65535).map(p -> new Part(String.valueOf(p), true));
        Arbitrary<Part> padded = Arbitraries.integers().between(1, 65535).map(p -> new Part("000" + p, true));
        Arbitrary<Part> digits = Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(40)
                .map(d -> new Part(d, isPort(d)));
        Arbitrary<Part> odd = Arbitraries.of("", "0", "65536", "-1", "+1", "1.5", ".5", "1e3", "0x50", " 443", "443 ",
                "\u0664\u0664\u0663", "\uff14\uff14\uff13", "99999999999999999999999", "9223372036854775808",
                "https", "4\u00a043").map(t -> new Part(t, false));
        return Arbitraries.oneOf(plain, padded, digits, odd);
    }

    private static Arbitrary<Part> modes() {
        return Arbitraries.of(
                new Part("", true), new Part("/tls", true), new Part("/raw", true), new Part("/TLS", true),
                new Part("/Raw", true), new Part("/tls+h2", true), new Part("/TLS+H2", true),
                new Part("/tls+h2+h2", true), new Part("/raw+h2", true), new Part("/", false),
                new Part("/tls+", false), new Part("/tls+h3", false), new Part("/udp", false),
                new Part("/tls/raw", false), new Part("+h2", false), new Part("/t\u0130s", false));
    }

    private static boolean isPort(String text) {
        var matcher = PLAIN_PORT.matcher(text);
        return matcher.matches() && Integer.parseInt(matcher.group(1)) <= 65535;
    }
}

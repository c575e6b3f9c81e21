package io.mergen.forwarder.resolver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RouteTableTest {

    private static final String ID_A = "084604f6-1c2b-4d3e-9f00-5a6b7c8d9e0f";
    private static final String ID_B = "1b2c3d4e-0000-4000-8000-000000000002";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tags.host", "tags.hostname", "tags.app", "tags.name",
            "metadata.host", "metadata.hostname", "metadata.app", "metadata.name"})
    void routesByEachExplicitName(String field) {
        String[] path = field.split("\\.");
        RouteTable table = tableOf(Metas.meta(ID_A, "\"" + path[0] + "\":{\"" + path[1] + "\":\" Billing-API \"}"));

        assertThat(table.byAlias("billing-api")).map(VmRoute::id).hasValue(ID_A);
        assertThat(table.byAlias("Billing-API")).as("lookups take lower-cased labels").isEmpty();
    }

    @Test
    void routesByFullIdAndItsFirst8Characters() {
        RouteTable table = tableOf(Metas.meta(ID_A.toUpperCase()));

        assertThat(table.byAlias(ID_A)).map(VmRoute::id).hasValue(ID_A.toUpperCase());
        assertThat(table.byAlias("084604f6")).map(VmRoute::id).hasValue(ID_A.toUpperCase());
        assertThat(table.byAlias("084604f")).isEmpty();
        assertThat(table.aliases()).containsOnlyKeys(ID_A, "084604f6");
    }

    @Test
    void ignoresNonStringMetadataAndEmptyNames() {
        RouteTable table = tableOf(Metas.meta(ID_A,
                "\"metadata\":{\"name\":42,\"app\":{\"name\":\"inner\"},\"host\":null,\"hostname\":true}",
                "\"tags\":{\"app\":\"  \",\"name\":\"\"}"));

        assertThat(table.aliases()).containsOnlyKeys(ID_A, "084604f6");
    }

    @Test
    void ordersOldestFirstThenUndatedThenById() {
        VmRoute undatedB = vm("b", null);
        VmRoute undatedA = vm("a", null);
        VmRoute newer = vm("z-newer", "2026-02-11T00:00:00Z");
        VmRoute olderY = vm("y-older", "2026-02-10T00:00:00Z");
        VmRoute olderX = vm("x-older", "2026-02-10T00:00:00Z");

        RouteTable table = RouteTable.of(List.of(undatedB, newer, undatedA, olderY, olderX), Map.of());

        assertThat(table.vms()).containsExactly(olderX, olderY, newer, undatedA, undatedB);
        assertThat(table.first()).hasValue(olderX);
    }

    @Test
    void ordersAnUnparseableCreatedAtLikeAMissingOne() {
        RouteTable table = tableOf(
                Metas.meta("c-bad", "\"createdAt\":\"last tuesday\""),
                Metas.meta("b-none"),
                Metas.meta("a-bad", "\"createdAt\":12"),
                Metas.meta("z-dated", "\"createdAt\":\"2030-01-01T00:00:00Z\""));

        assertThat(table.vms()).extracting(VmRoute::id).containsExactly("z-dated", "a-bad", "b-none", "c-bad");
    }

    @Test
    void emptyTableRoutesNothing() {
        assertThat(RouteTable.empty().vms()).isEmpty();
        assertThat(RouteTable.empty().first()).isEmpty();
        assertThat(RouteTable.empty().byAlias("app1")).isEmpty();
        assertThat(RouteTable.empty().conflicts()).isEmpty();
    }

    @Test
    void fullIdBeatsAnExplicitName() {
        RouteTable table = tableOf(
                Metas.meta("older", "\"createdAt\":\"2020-01-01T00:00:00Z\"", "\"tags\":{\"app\":\"newer\"}"),
                Metas.meta("newer", "\"createdAt\":\"2021-01-01T00:00:00Z\""));

        assertThat(table.byAlias("newer")).map(VmRoute::id).hasValue("newer");
        assertThat(table.conflicts()).containsExactly(
                new AliasConflict("newer", "newer", "older", "full id beats explicit name"));
    }

    @Test
    void fullIdBeatsAnIdPrefix() {
        // "abcdefgh" is the full id of one VM and the 8-char prefix of an older one.
        RouteTable table = tableOf(
                Metas.meta("abcdefgh-older", "\"createdAt\":\"2020-01-01T00:00:00Z\""),
                Metas.meta("abcdefgh", "\"createdAt\":\"2021-01-01T00:00:00Z\""));

        assertThat(table.byAlias("abcdefgh")).map(VmRoute::id).hasValue("abcdefgh");
        assertThat(table.conflicts()).containsExactly(
                new AliasConflict("abcdefgh", "abcdefgh", "abcdefgh-older", "full id beats id prefix"));
    }

    @Test
    void explicitNameBeatsAnIdPrefix() {
        RouteTable table = tableOf(
                Metas.meta("cafebabe-0001", "\"createdAt\":\"2020-01-01T00:00:00Z\""),
                Metas.meta("other", "\"createdAt\":\"2021-01-01T00:00:00Z\"", "\"metadata\":{\"name\":\"CAFEBABE\"}"));

        assertThat(table.byAlias("cafebabe")).map(VmRoute::id).hasValue("other");
        assertThat(table.byAlias("cafebabe-0001")).map(VmRoute::id).hasValue("cafebabe-0001");
        assertThat(table.conflicts()).containsExactly(
                new AliasConflict("cafebabe", "other", "cafebabe-0001", "explicit name beats id prefix"));
    }

    @Test
    void earlierVmWinsBetweenEqualClaims() {
        RouteTable table = tableOf(
                Metas.meta("b-undated", "\"tags\":{\"app\":\"shop\"}"),
                Metas.meta("z-older", "\"createdAt\":\"2020-01-01T00:00:00Z\"", "\"tags\":{\"name\":\"shop\"}"),
                Metas.meta("a-undated", "\"metadata\":{\"app\":\"shop\"}"));

        assertThat(table.byAlias("shop")).map(VmRoute::id).hasValue("z-older");
        assertThat(table.conflicts()).extracting(AliasConflict::loserId).containsExactly("a-undated", "b-undated");
        assertThat(table.conflicts()).allSatisfy(conflict -> assertThat(conflict.reason())
                .isEqualTo("both claim it as explicit name; z-older is earlier in resolver order"));
    }

    @Test
    void aVmClaimingAnAliasTwiceIsNoConflict() {
        RouteTable table = tableOf(Metas.meta("short",
                "\"tags\":{\"app\":\"shop\",\"name\":\"SHOP\",\"host\":\"short\"}",
                "\"metadata\":{\"app\":\"shop\"}"));

        assertThat(table.conflicts()).isEmpty();
        assertThat(table.aliases()).containsOnlyKeys("short", "shop");
    }

    @Test
    void outcomeDoesNotDependOnInputOrder() {
        List<String> metas = List.of(
                Metas.meta("abcdefgh", "\"tags\":{\"app\":\"shop\"}"),
                Metas.meta("abcdefgh-2", "\"createdAt\":\"2020-01-01T00:00:00Z\"", "\"tags\":{\"app\":\"shop\",\"name\":\"blog\"}"),
                Metas.meta("blog", "\"metadata\":{\"name\":\"abcdefgh\"}"),
                Metas.meta("zz", "\"tags\":{\"name\":\"blog\",\"app\":\"abcdefgh\"}"));
        RouteTable reference = tableOf(metas.toArray(String[]::new));

        for (List<String> permutation : permutations(metas)) {
            RouteTable table = tableOf(permutation.toArray(String[]::new));
            assertThat(table.vms()).isEqualTo(reference.vms());
            assertThat(table.aliases()).isEqualTo(reference.aliases());
            assertThat(table.conflicts()).isEqualTo(reference.conflicts());
        }
        assertThat(reference.byAlias("abcdefgh")).map(VmRoute::id).hasValue("abcdefgh");
        assertThat(reference.byAlias("shop")).map(VmRoute::id).hasValue("abcdefgh-2");
        assertThat(reference.byAlias("blog")).map(VmRoute::id).hasValue("blog");
    }

    @Test
    void rejectsDuplicateIds() {
        assertThatThrownBy(() -> RouteTable.of(List.of(vm("a", null), vm("a", null)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("duplicate id a");
    }

    @Test
    void exposesUnmodifiableViews() {
        RouteTable table = tableOf(Metas.meta(ID_A), Metas.meta(ID_B));

        assertThatThrownBy(() -> table.aliases().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> table.vms().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> table.conflicts().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @ParameterizedTest(name = "listener {0}, httpPort {1} -> {2}")
    @CsvSource(textBlock = """
            443,  8080, 8080
            443,      , 443
            5432, 8080, 5432
            22,       , 22
            """)
    void picksTheGuestPort(int listenerGuestPort, Integer httpPort, int expected) throws Exception {
        VmRoute vm = new VmRoute(ID_A, Optional.empty(), InetAddress.getLoopbackAddress(), "ns",
                httpPort == null ? OptionalInt.empty() : OptionalInt.of(httpPort));

        assertThat(vm.guestPort(listenerGuestPort)).isEqualTo(expected);
    }

    @Test
    void shortIdIsTheFirst8Characters() {
        assertThat(vm(ID_A, null).shortId()).isEqualTo("084604f6");
        assertThat(vm("abc", null).shortId()).isEqualTo("abc");
    }

    private static VmRoute vm(String id, String createdAt) {
        return new VmRoute(id, Optional.ofNullable(createdAt).map(Instant::parse), InetAddress.getLoopbackAddress(),
                "ns", OptionalInt.empty());
    }

    private static RouteTable tableOf(String... metas) {
        List<VmRoute> vms = new ArrayList<>();
        Map<String, List<String>> names = new HashMap<>();
        for (String meta : metas) {
            MetaFile.Parsed parsed = MetaFile.parse(meta.getBytes(StandardCharsets.UTF_8));
            assertThat(parsed).isInstanceOf(MetaFile.Parsed.Valid.class);
            MetaFile.Parsed.Valid valid = (MetaFile.Parsed.Valid) parsed;
            vms.add(valid.vm());
            names.put(valid.vm().id(), valid.names());
        }
        return RouteTable.of(vms, names);
    }

    private static <T> List<List<T>> permutations(List<T> items) {
        if (items.isEmpty()) {
            return List.of(List.of());
        }
        List<List<T>> result = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            List<T> rest = new ArrayList<>(items);
            T head = rest.remove(i);
            for (List<T> tail : permutations(rest)) {
                List<T> permutation = new ArrayList<>();
                permutation.add(head);
                permutation.addAll(tail);
                result.add(permutation);
            }
        }
        return result;
    }
}

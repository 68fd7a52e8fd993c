package dev.riverboat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class UniqueKeyTest {
    private static final Instant NOW = Instant.parse("2026-01-02T03:04:05.6789Z");
    private static final UniqueOpts SELECTED = new UniqueOpts(List.of("account.id", "account.region", "label", "path/key"), null, false, null, false);

    private static String key(String kind, String args, String queue, UniqueOpts opts, Instant scheduled) {
        return HexFormat.of().formatHex(UniqueKey.compute(kind, args, queue, opts, scheduled, NOW));
    }

    private static UniqueOpts period(long minutes) {
        return new UniqueOpts(null, Duration.ofMinutes(minutes), false, null, false);
    }

    @Test
    void issueVectors() {
        Instant scheduled = Instant.parse("2026-01-02T05:21:05.6789Z");
        assertEquals("5396f06a082abd7a929915135ebd363a9a47d800176b03ce7736f93a5ba9e22e", key("conformance_simple", "{\"id\":42}", "default", period(90), null));
        assertEquals("b7f3c49952996b760b8b3ff6cf48f426e03a6ef0f004fb6faa51725365cf309a", key("conformance_simple", "{\"id\":42}", "default", period(60), scheduled));
        assertEquals("b7f3c49952996b760b8b3ff6cf48f426e03a6ef0f004fb6faa51725365cf309a",
                key("conformance_simple", "{\"id\":42}", "default", period(60), OffsetDateTime.parse("2026-01-02T10:51:05.6789+05:30").toInstant()));
        assertEquals("d20ce47da8e8015e68b020bbca2b17494139519ae05f8985e5992db4d8dd8a09",
                key("conformance_simple", "{\"id\":42}", "priority_emails", new UniqueOpts(null, null, true, null, true), null));
        UniqueOpts all = new UniqueOpts(UniqueOpts.ALL_ARGS, Duration.ofMinutes(1), true,
                EnumSet.of(JobState.AVAILABLE, JobState.COMPLETED, JobState.PENDING, JobState.RUNNING, JobState.SCHEDULED), false);
        assertEquals("6f20262e7b1fa9beaf98255f23030800376636484a98b20c2c04a303bab5a8d5", key("conformance_simple", "{\"id\":42}", "priority_emails", all, scheduled));
        assertEquals(213, UniqueKey.stateMask(all));
        UniqueOpts byArgs = new UniqueOpts(UniqueOpts.ALL_ARGS, null, false, null, false);
        assertEquals(245, UniqueKey.stateMask(byArgs));
        assertEquals("fe05a58ddb79a8d4544da962582d9a290d59788c920afd3597da3a62e3c1b0ac", key("conformance_all_args", "{}", "default", byArgs, null));
        assertEquals("46ff499cb031d0458bb00ef87e7b83321eefb6e7534497c279c4ae0f474cdde0", key("conformance_all_args", "{\"nested\":{\"z\":1,\"a\":2}}", "default", byArgs, null));
        assertEquals("23aa86692d9807ab10e433e378f1c0804573f5e345818461b919322dd381b4c3", key("conformance_selected_args", "{}", "default", SELECTED, null));
        assertEquals("6130dc4f753402d1faeb6bbc3e6c21415245bb282ad1fd16bcbfeebde525e726",
                key("conformance_selected_args", "{\"account\":{\"id\":\"acct-123\",\"ignored\":\"not selected\"},\"ignored\":true,\"label\":\"selected\"}", "default", SELECTED, null));
        assertEquals("d137d7c4f1e3f8369037b1890357655b4fa1978a329bcf51435f9f0b54abcab7", key("conformance_selected_args", "{\"label\":null}", "default", SELECTED, null));
    }

    @Test
    void canonicalArgsSortTopLevelFirstDuplicateWins() {
        UniqueOpts byArgs = new UniqueOpts(UniqueOpts.ALL_ARGS, null, false, null, false);
        assertEquals("&kind=k&args={\"a\":1,\"b\":{\"y\":1,\"x\":2}}", UniqueKey.keyString("k", "{\"b\":{\"y\":1,\"x\":2},\"a\":1,\"b\":3}", "default", byArgs, null, NOW));
        assertEquals("&kind=k&args={\"<\":2,\"\u00e9\":1}", UniqueKey.keyString("k", "{\"\\u00e9\":1,\"<\":2}", "default", byArgs, null, NOW));
    }

    @Test
    void oneSelectedPathInsideAnotherKeepsTheOuterValue() {
        UniqueOpts nested = new UniqueOpts(List.of("a.b", "a"), null, false, null, false);
        String args = "{\"z\":0,\"a\":{\"c\":1,\"b\":{\"y\":2,\"x\":3}}}";
        assertEquals("&kind=k&args={\"a\":{\"c\":1,\"b\":{\"y\":2,\"x\":3}}}", UniqueKey.keyString("k", args, "default", nested, null, NOW));
        assertEquals("&kind=k&args={\"a\":{\"c\":1}}", UniqueKey.keyString("k", "{\"a\":{\"c\":1}}", "default", nested, null, NOW));
        // conformance/fixtures/unique_keys.json, selected_args_nested_paths
        assertEquals("02e4e276b8a390175fa8a1e82afd99a850b412d2a994c709a07d6aeb8824502d", key("conformance_selected_args", args, "default", nested, null));
    }

    private static String selectedKeyString(String args, String... paths) {
        return UniqueKey.keyString("k", args, "default", new UniqueOpts(List.of(paths), null, false, null, false), null, NOW);
    }

    @Test
    void aBackslashMakesTheNextPathCharacterLiteral() {
        String args = "{\"a\":{\"b\":2},\"a.b\":1,\"a\\\\\":{\"b\":3}}";
        assertEquals("&kind=k&args={\"a.b\":1}", selectedKeyString(args, "a\\.b"));
        assertEquals("&kind=k&args={\"a\":{\"b\":2}}", selectedKeyString(args, "a.b"));
        // An escaped backslash, then a separator: the key a\, then b inside it.
        assertEquals("&kind=k&args={\"a\\\\\":{\"b\":3}}", selectedKeyString(args, "a\\\\.b"));
        // A trailing backslash stands for itself.
        assertEquals("&kind=k&args={\"a\\\\\":{\"b\":3}}", selectedKeyString(args, "a\\"));
        // conformance/cases/unique/key_selected_escaped_dot.json
        assertEquals("fe09be4b17d04787e2b742453523ddc49c3c556dc220f9c6e105893e67c52cf7",
                key("conformance_selected_args", "{\"a\":{\"b\":2},\"a.b\":1}", "default", new UniqueOpts(List.of("a\\.b"), null, false, null, false), null));
    }

    @Test
    void selectedPathsSortByTheirJoinedComponents() {
        // Joined: a.c, a.b, a-b. Raw text would put a.c before a\.b; component lists would put a.c first.
        String args = "{\"a\":{\"b\":2,\"c\":3},\"a.b\":1,\"a-b\":4}";
        assertEquals("&kind=k&args={\"a-b\":4,\"a.b\":1,\"a\":{\"c\":3}}", selectedKeyString(args, "a.c", "a\\.b", "a-b"));
        // Equal joined components: the escaped text decides, so a.b (nested) comes before a\.b.
        assertEquals("&kind=k&args={\"a\":{\"b\":2},\"a.b\":1}", selectedKeyString(args, "a\\.b", "a.b"));
        // conformance/cases/unique/key_selected_sort_order.json
        assertEquals("b608b57262cd34200e73020969d1f45ad588250907c976d79e73cbe63315ab92",
                key("conformance_selected_args", args, "default", new UniqueOpts(List.of("a.c", "a\\.b", "a-b"), null, false, null, false), null));
    }

    @Test
    void pathComponentsAreObjectKeysNotArrayIndexes() {
        // Escaping a digit does not make it a key: River would still read an index.
        for (String bad : List.of("items.0", "items.0.id", "items.-1", "items.\\0", "a..b", ".a", "")) {
            ValidationException e = assertThrows(ValidationException.class, () -> selectedKeyString("{}", bad), bad);
            assertEquals(List.of("unique_opts.by_args", "path"), List.of(e.field(), e.rule()), bad);
        }
        for (String good : List.of("items", "items.id0", "items.0x")) {
            selectedKeyString("{}", good);
        }
    }

    @Test
    void emptyListOfPathsIsTheSameAsNoByArgs() {
        UniqueOpts empty = new UniqueOpts(List.of(), null, false, null, false);
        assertFalse(empty.isUnique());
        assertEquals(new UniqueOpts(null, null, false, null, false), empty);
        UniqueOpts byQueue = new UniqueOpts(new ArrayList<>(), null, true, null, false);
        assertEquals("&kind=k&queue=q", UniqueKey.keyString("k", "{\"a\":1}", "q", byQueue, null, NOW));
        assertTrue(new UniqueOpts(UniqueOpts.ALL_ARGS, null, false, null, false).allArgs());
        assertEquals("&kind=k&args={\"a\":1}", UniqueKey.keyString("k", "{\"a\":1}", "q", new UniqueOpts(UniqueOpts.ALL_ARGS, null, false, null, false), null, NOW));
    }

    @Test
    void periodTruncatesFromGoZeroTime() {
        // 7 minutes does not divide the zero-time offset, so epoch truncation would differ.
        assertEquals(Instant.parse("2026-01-02T03:03:00Z"), UniqueKey.periodLowerBound(Instant.parse("2026-01-02T03:04:05Z"), Duration.ofMinutes(7).toNanos()));
    }
}

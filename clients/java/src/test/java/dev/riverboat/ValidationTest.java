package dev.riverboat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Validation runs before the database: these use no connection at all. */
class ValidationTest {
    private final Client client = new Client(null);

    private List<String> error(InsertParams p) {
        ValidationException e = assertThrows(ValidationException.class, () -> client.check(p));
        return List.of(e.field(), e.rule());
    }

    private static List<String> error(String field, String rule) {
        return List.of(field, rule);
    }

    private static InsertParams with(InsertOpts opts) {
        return new InsertParams("k", Map.of("n", 1), opts);
    }

    @Test
    void badOptionsNameTheirFieldAndRule() {
        assertEquals(error("args", "type"), error(new InsertParams("k", List.of(1, 2))));
        assertEquals(error("args", "type"), error(new InsertParams("k", new Json.Raw("[1, 2]"))));
        assertEquals(error("args", "json"), error(new InsertParams("k", Map.of("n", Double.NaN))));
        assertEquals(error("kind", "length"), error(new InsertParams("", Map.of())));
        assertEquals(error("kind", "length"), error(new InsertParams("k".repeat(128), Map.of())));
        assertEquals(error("queue", "pattern"), error(with(new InsertOpts().queue("Bad Queue"))));
        assertEquals(error("queue", "pattern"), error(with(new InsertOpts().queue("mail__out"))));
        assertEquals(error("queue", "pattern"), error(with(new InsertOpts().queue("-mail"))));
        assertEquals(error("queue", "length"), error(with(new InsertOpts().queue("q".repeat(65)))));
        assertEquals(error("priority", "range"), error(with(new InsertOpts().priority(5))));
        assertEquals(error("priority", "range"), error(with(new InsertOpts().priority(0))));
        assertEquals(error("max_attempts", "range"), error(with(new InsertOpts().maxAttempts(0))));
        assertEquals(error("tags", "pattern"), error(with(new InsertOpts().tags(List.of("a,b,c")))));
        assertEquals(error("tags", "length"), error(with(new InsertOpts().tags(List.of("ok_tag", "ab")))));
        assertEquals(error("tags", "pattern"), error(with(new InsertOpts().tags(List.of("-tag")))));
        assertEquals(error("tags", "pattern"), error(with(new InsertOpts().tags(List.of("caf\u00e9")))));
        assertEquals(error("unique_opts.by_period", "range"),
                error(with(new InsertOpts().unique(new UniqueOpts(null, Duration.ofMillis(500), false, null, false)))));
        assertEquals(error("unique_opts.by_state", "required_states"), error(with(new InsertOpts().unique(
                new UniqueOpts(UniqueOpts.ALL_ARGS, null, false, EnumSet.of(JobState.AVAILABLE, JobState.COMPLETED), false)))));
        ValidationException unknownState = assertThrows(ValidationException.class, () -> JobState.parse("bogus"));
        assertEquals(error("unique_opts.by_state", "unknown_state"), List.of(unknownState.field(), unknownState.rule()));
        assertEquals(error("unique_opts.exclude_kind", "requires_dimension"),
                error(with(new InsertOpts().unique(new UniqueOpts(List.of(), null, false, null, true)))));
        assertEquals(error("unique_opts.by_args", "path"),
                error(with(new InsertOpts().unique(new UniqueOpts(List.of("items.0"), null, false, null, false)))));
        assertEquals(error("queue", "pattern"), error(with(new InsertOpts().queue("a".repeat(63) + "!"))));
        assertEquals(error("unique_opts.by_period", "range"),
                error(with(new InsertOpts().unique(new UniqueOpts(null, Duration.ofMillis(1500), false, null, false)))));
        assertEquals(error("unique_opts.by_state", "required_states"),
                error(with(new InsertOpts().unique(new UniqueOpts(null, null, false, EnumSet.noneOf(JobState.class), false)))));
        assertEquals(error("args", "json"), error(new InsertParams("k", Map.of("s", "a\u0000b"))));
        assertEquals(error("args", "json"), error(new InsertParams("k", new Json.Raw("{\"a\": {\"b\\u0000\": 1}}"))));
        assertEquals(error("metadata", "json"), error(with(new InsertOpts().metadata(Map.of("bad\u0000key", 1)))));
        // An escaped backslash followed by the text u0000 is not U+0000.
        client.check(new InsertParams("k", new Json.Raw("{\"a\": \"\\\\u0000\"}")));
    }

    @Test
    void ruleCodesAreSpec15s() throws IOException {
        String spec = Files.readString(Path.of("../../spec/15-errors.md"));
        Set<String> codes = new HashSet<>();
        Matcher row = Pattern.compile("^\\| `([a-z_]+)` \\|", Pattern.MULTILINE).matcher(spec.substring(spec.indexOf("## 15.2")));
        while (row.find()) {
            codes.add(row.group(1));
        }
        assertEquals(codes, ValidationException.RULES);
        assertThrows(IllegalArgumentException.class, () -> new ValidationException("queue", "exclusive", "not a rule code"));
    }

    @Test
    void anEmptyBatchIsRefusedAsRiverGoRefusesIt() {
        ValidationException many = assertThrows(ValidationException.class, () -> client.insertMany(null, List.of()));
        assertEquals(List.of("params", "length"), List.of(many.field(), many.rule()));
        ValidationException tx = assertThrows(ValidationException.class, () -> client.insertManyTx(null, List.of()));
        assertEquals(List.of("params", "length"), List.of(tx.field(), tx.rule()));
    }

    @Test
    void reservedMetadataKeysAreRefusedAtTheTopLevelOnly() {
        ValidationException e = assertThrows(ValidationException.class,
                () -> client.check(with(new InsertOpts().metadata(Map.of("source", "signup", "river:periodic_job_id", "p1")))));
        assertEquals(List.of("metadata", "reserved"), List.of(e.field(), e.rule()));
        client.check(with(new InsertOpts().metadata(Map.of("nested", Map.of("river:x", 1)))));
        client.check(with(new InsertOpts().metadata(Map.of("river", 1, "x-river:", 2))));
    }

    @Test
    void kindIsOneTo127Characters() {
        client.check(new InsertParams("k".repeat(127), Map.of()));
        // Characters, not UTF-16 units: 127 characters outside the BMP are fine.
        client.check(new InsertParams("\uD83D\uDE00".repeat(127), Map.of()));
        ValidationException e = assertThrows(ValidationException.class, () -> client.check(new InsertParams("k".repeat(128), Map.of())));
        assertEquals(List.of("kind", "length"), List.of(e.field(), e.rule()));
    }

    @Test
    void goodOptionsPass() {
        client.check(with(new InsertOpts().queue("mail_out-2").priority(4).maxAttempts(1).tags(List.of("tier-1", "abc"))
                .metadata(Map.of("source", "signup")).unique(new UniqueOpts(UniqueOpts.ALL_ARGS, Duration.ofHours(1), true, null, false))));
    }

    @Test
    void contractViolationNamesKindPointerAndKeyword() {
        client.setKindContract("email_send", "{\"type\":\"object\",\"properties\":{\"to\":{\"type\":\"string\"}}}", Client.KindDefaults.NONE);
        ContractViolationException e = assertThrows(ContractViolationException.class, () -> client.check(new InsertParams("email_send", Map.of("to", 7))));
        assertEquals(List.of("email_send", "/to", "type"), List.of(e.kind(), e.pointer(), e.keyword()));
        assertEquals(error("args", "contract"), List.of(e.field(), e.rule()));
        client.check(new InsertParams("email_send", Map.of("to", "a@example.com")));
        client.check(new InsertParams("other", Map.of("to", 7)));
    }

    @Test
    void contractDocumentSuppliesKindDefaults() {
        // The meta-schema cannot see that "items.0" is an array index; resolving the defaults does.
        client.loadContract("{\"riverboat_contract\":1,\"kinds\":{\"report\":{\"args_schema\":{\"type\":\"object\"},"
                + "\"insert_opts\":{\"queue\":\"reports\",\"priority\":null,\"unique_opts\":{\"by_args\":[\"items.0\"]}}}}}");
        assertEquals(error("unique_opts.by_args", "path"), error(new InsertParams("report", Map.of())));
        client.check(new InsertParams("report", Map.of(), new InsertOpts().unique(new UniqueOpts(UniqueOpts.ALL_ARGS, null, false, null, false))));
        client.check(new InsertParams("other", Map.of("anything", 1)));
    }

    @Test
    void contractDocumentBreakingTheMetaSchemaIsRefused() {
        ValidationException e = assertThrows(ValidationException.class, () -> client.loadContract(
                "{\"riverboat_contract\":1,\"kinds\":{\"k\":{\"args_schema\":{},\"insert_opts\":{\"unique_opts\":{\"by_period_seconds\":1.5}}}}}"));
        assertEquals(error("contract", "contract"), List.of(e.field(), e.rule()));
        assertTrue(e.getMessage().contains("/kinds/k/insert_opts/unique_opts/by_period_seconds"), e.getMessage());
        assertThrows(ValidationException.class, () -> client.loadContract("{\"kinds\":{}}"));
        ValidationException month13 = assertThrows(ValidationException.class, () -> client.loadContract(
                "{\"riverboat_contract\":1,\"kinds\":{\"k\":{\"args_schema\":{},\"insert_opts\":{\"scheduled_at\":\"2026-13-01T00:00:00Z\"}}}}"));
        assertEquals(error("scheduled_at", "format"), List.of(month13.field(), month13.rule()));
    }

    @Test
    void argsSchemaThatIsNoSchemaIsRefusedWhenSet() {
        for (String bad : List.of("{\"minimum\":\"x\"}", "{\"properties\":{\"a\":{\"$ref\":\"#/nope\"}}}")) {
            ValidationException e = assertThrows(ValidationException.class,
                    () -> client.setKindContract("k", bad, Client.KindDefaults.NONE), bad);
            assertEquals(error("contract.kinds[\"k\"].args_schema", "format"), List.of(e.field(), e.rule()), bad);
        }
        ValidationException e = assertThrows(ValidationException.class, () -> client.setKindContract("k", "{", Client.KindDefaults.NONE));
        assertEquals(error("contract.kinds[\"k\"].args_schema", "json"), List.of(e.field(), e.rule()));
    }
}

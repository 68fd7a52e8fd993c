package dev.riverboat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaException;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * An insert-only riverboat client over JDBC. It holds no connection: {@code insert} and
 * {@code insertMany} run in a transaction of their own on the given connection; the
 * {@code Tx} variants use the caller's transaction (a connection with autocommit off).
 */
public final class Client {
    /** Insert defaults of a kind, from the job-args contract's {@code insert_opts}. */
    public record KindDefaults(InsertOpts opts) {
        public static final KindDefaults NONE = new KindDefaults(new InsertOpts());
    }

    private record KindContract(JsonSchema schema, KindDefaults defaults) {}

    private record Row(String kind, String args, int maxAttempts, String metadata, int priority, String queue,
            Instant scheduledAt, String state, String tags, String uniqueKey, int uniqueStates) {}

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final SchemaValidatorsConfig SCHEMA_CONFIG = SchemaValidatorsConfig.builder().pathType(PathType.JSON_POINTER).build();
    /** The contract document's own schema (schema/json/job-args-contract.schema.json, copied at build time). */
    private static final JsonSchema META_SCHEMA = SCHEMAS.getSchema(resource("job-args-contract.schema.json"), SCHEMA_CONFIG);
    private static final Set<JobState> REQUIRED_STATES = EnumSet.of(JobState.AVAILABLE, JobState.PENDING, JobState.RUNNING, JobState.SCHEDULED);
    /** river_job's CHECK on kind: 1 to 127 characters. */
    private static final int KIND_MAX_LENGTH = 127;
    private static final java.util.regex.Pattern QUEUE_NAME = java.util.regex.Pattern.compile("[a-z0-9]+(?:[_|-][a-z0-9]+)*");
    /** Metadata keys River keeps for itself (spec/03-insert.md#parameters). */
    private static final String RESERVED_METADATA_PREFIX = "river:";

    private final String schema;
    private final String insertSql;
    private final String notifySql;
    private final String defaultQueue;
    private final Map<String, KindContract> contracts = new HashMap<>();

    /** A client for River's tables in {@code schema} (null: the connection's search path). */
    public Client(String schema) {
        this(schema, "default");
    }

    public Client(String schema, String defaultQueue) {
        this.schema = schema;
        this.defaultQueue = defaultQueue;
        String prefix = schema == null ? "" : "\"" + schema.replace("\"", "\"\"") + "\".";
        this.insertSql = resource("job_insert_many.sql").replace("/* TEMPLATE: schema */", prefix);
        this.notifySql = resource("queue_notify_insert.sql");
    }

    private static String resource(String name) {
        try (InputStream in = Client.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Registers (or replaces) a kind's args JSON Schema (draft 2020-12, as JSON text) and defaults. */
    public void setKindContract(String kind, String argsSchemaJson, KindDefaults defaults) {
        String field = "contract.kinds[\"" + kind + "\"].args_schema";
        JsonNode node;
        try {
            node = MAPPER.readTree(argsSchemaJson);
        } catch (IOException e) {
            throw new ValidationException(field, "json", e.getMessage());
        }
        JsonSchema schema;
        try {
            schema = SCHEMAS.getSchema(node, SCHEMA_CONFIG);
            // References resolve here, so a schema that cannot work is refused now, not at an insert.
            schema.initializeValidators();
        } catch (JsonSchemaException e) {
            throw new ValidationException(field, "format", "not a valid JSON Schema: " + e.getMessage());
        }
        contracts.put(kind, new KindContract(schema, defaults));
    }

    /**
     * Loads a job-args contract document (spec/05-args-contract.md#document), checked against
     * its meta-schema: {@code {"riverboat_contract": 1, "kinds": {kind: {"args_schema": schema,
     * "insert_opts": {...}}}}}. Only the kinds it lists are checked; their {@code insert_opts}
     * become the kinds' defaults.
     */
    public void loadContract(String documentJson) {
        JsonNode document;
        try {
            document = MAPPER.readTree(documentJson);
        } catch (IOException e) {
            throw new ValidationException("contract", "json", e.getMessage());
        }
        Set<ValidationMessage> errors = META_SCHEMA.validate(document);
        if (!errors.isEmpty()) {
            ValidationMessage m = errors.iterator().next();
            throw new ValidationException("contract", "contract",
                    "contract at JSON pointer \"" + m.getInstanceLocation() + "\": " + m.getType() + ": " + m.getMessage());
        }
        Json.JsonObject kinds = (Json.JsonObject) ((Json.JsonObject) Json.parse(documentJson)).get("kinds");
        for (Map.Entry<String, Object> e : kinds.entrySet()) {
            Json.JsonObject entry = (Json.JsonObject) e.getValue();
            KindDefaults defaults = entry.get("insert_opts") instanceof Json.JsonObject o
                    ? new KindDefaults(ContractOptions.insertOpts(o)) : KindDefaults.NONE;
            setKindContract(e.getKey(), entry.raw("args_schema"), defaults);
        }
    }

    public InsertResult insert(Connection conn, InsertParams params) {
        return insertMany(conn, List.of(params)).get(0);
    }

    public InsertResult insertTx(Connection tx, InsertParams params) {
        return insertManyTx(tx, List.of(params)).get(0);
    }

    /** Inserts a batch atomically in a transaction of its own; results in input order. */
    public List<InsertResult> insertMany(Connection conn, List<InsertParams> params) {
        Instant now = Instant.now();
        List<Row> rows = prepare(params, now);
        try {
            if (!conn.getAutoCommit()) {
                // Committing here would also commit the caller's open transaction.
                throw new IllegalStateException("insert needs a connection in autocommit mode; use insertTx inside a transaction");
            }
            conn.setAutoCommit(false);
            try {
                List<InsertResult> results = write(conn, rows, now);
                conn.commit();
                return results;
            } catch (SQLException | RuntimeException e) {
                conn.rollback();
                throw e;
            } finally {
                conn.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new DatabaseException(e);
        }
    }

    /** Inserts a batch in the caller's transaction; visible and announced on its commit. */
    public List<InsertResult> insertManyTx(Connection tx, List<InsertParams> params) {
        Instant now = Instant.now();
        List<Row> rows = prepare(params, now);
        try {
            if (tx.getAutoCommit()) {
                throw new IllegalStateException("insertTx needs a connection with autocommit off");
            }
            return write(tx, rows, now);
        } catch (SQLException e) {
            throw new DatabaseException(e);
        }
    }

    /** Validates one job (options, args, contract) without touching the database. */
    public void check(InsertParams params) {
        resolve(params, Instant.now());
    }

    private List<Row> prepare(List<InsertParams> params, Instant now) {
        if (params.isEmpty()) {
            // River Go's InsertMany refuses an empty batch ("no jobs to insert").
            throw new ValidationException("params", "length", "no jobs to insert: a batch needs at least one job");
        }
        List<Row> rows = new ArrayList<>(params.size());
        for (InsertParams p : params) {
            rows.add(resolve(p, now));
        }
        return rows;
    }

    private static String encodeArgs(Object args) {
        String encoded;
        try {
            encoded = Json.encode(args);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("args", "json", e.getMessage());
        }
        if (!encoded.startsWith("{")) {
            throw new ValidationException("args", "type", "args must be a JSON object");
        }
        return rejectNul("args", encoded);
    }

    private static <T> T first(T a, T b, T c) {
        return a != null ? a : b != null ? b : c;
    }

    private Row resolve(InsertParams p, Instant now) {
        if (p.kind() == null || p.kind().isEmpty() || p.kind().codePointCount(0, p.kind().length()) > KIND_MAX_LENGTH) {
            throw new ValidationException("kind", "length", "kind must be 1 to " + KIND_MAX_LENGTH + " characters");
        }
        String args = encodeArgs(p.args());
        KindContract contract = contracts.get(p.kind());
        if (contract != null) {
            checkContract(p.kind(), contract.schema(), args);
        }
        InsertOpts d = contract == null ? KindDefaults.NONE.opts() : contract.defaults().opts();
        InsertOpts o = p.opts() == null ? new InsertOpts() : p.opts();
        String queue = first(o.queue, d.queue, defaultQueue);
        validateQueue(queue);
        int priority = first(o.priority, d.priority, 1);
        if (priority < 1 || priority > 4) {
            throw new ValidationException("priority", "range", "priority must be 1 to 4");
        }
        int maxAttempts = first(o.maxAttempts, d.maxAttempts, 25);
        if (maxAttempts < 1 || maxAttempts > Short.MAX_VALUE) {
            throw new ValidationException("max_attempts", "range", "max_attempts must be at least 1");
        }
        List<String> tags = first(o.tags, d.tags, List.of());
        for (String tag : tags) {
            validateTag(tag);
        }
        Map<String, ?> givenMetadata = first(o.metadata, d.metadata, null);
        String metadata = givenMetadata == null ? "{}" : encodeMetadata(givenMetadata);
        Instant scheduledAt = first(o.scheduledAt, d.scheduledAt, null);
        String state = o.pending || d.pending ? "pending" : scheduledAt != null ? "scheduled" : "available";
        UniqueOpts unique = first(o.unique, d.unique, null);
        String uniqueKey = "";
        int mask = 0;
        if (unique != null) {
            validateUnique(unique);
        }
        if (unique != null && unique.isUnique()) {
            uniqueKey = HexFormat.of().formatHex(UniqueKey.compute(p.kind(), args, queue, unique, scheduledAt, now));
            mask = UniqueKey.stateMask(unique);
        }
        return new Row(p.kind(), args, maxAttempts, metadata, priority, queue, scheduledAt != null ? scheduledAt : now,
                state, String.join(",", tags), uniqueKey, mask);
    }

    private static String encodeMetadata(Map<?, ?> metadata) {
        for (Object key : metadata.keySet()) {
            if (key instanceof String k && k.startsWith(RESERVED_METADATA_PREFIX)) {
                throw new ValidationException("metadata", "reserved",
                        "metadata key \"" + k + "\": keys beginning \"" + RESERVED_METADATA_PREFIX + "\" are reserved for River");
            }
        }
        try {
            return rejectNul("metadata", Json.encode(metadata));
        } catch (IllegalArgumentException e) {
            throw new ValidationException("metadata", "json", e.getMessage());
        }
    }

    /**
     * Returns encoded JSON unless a string or key in it holds U+0000, which PostgreSQL's jsonb
     * cannot store (spec/03-insert.md#nul). Encoded JSON writes it only as the escape
     * {@code \u0000}, found by walking each string's escapes.
     */
    static String rejectNul(String field, String encoded) {
        boolean inString = false;
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '"') {
                inString = !inString;
            } else if (c == '\\' && inString) {
                if (encoded.startsWith("u0000", i + 1)) {
                    throw new ValidationException(field, "json", field + " must not hold U+0000, which PostgreSQL's jsonb cannot store");
                }
                i++;
            }
        }
        return encoded;
    }

    private static void checkContract(String kind, JsonSchema schema, String encodedArgs) {
        JsonNode instance;
        try {
            instance = MAPPER.readTree(encodedArgs);
        } catch (IOException e) {
            throw new ValidationException("args", "json", e.getMessage());
        }
        Set<ValidationMessage> errors = schema.validate(instance);
        if (!errors.isEmpty()) {
            ValidationMessage m = errors.iterator().next();
            String pointer = m.getInstanceLocation().toString();
            throw new ContractViolationException(kind, pointer, m.getType(), m.getMessage());
        }
    }

    /** River's queue rule: 1 to 64 lowercase alphanumerics with single _, - or | separators. */
    public static void validateQueue(String queue) {
        if (queue.isEmpty() || queue.length() > 64) {
            throw new ValidationException("queue", "length", "queue must be 1 to 64 characters");
        }
        // spec/03-insert.md#queue-names: River's names in a form that does not backtrack.
        if (!QUEUE_NAME.matcher(queue).matches()) {
            throw new ValidationException("queue", "pattern", "queue \"" + queue + "\" must be lowercase alphanumerics with single _ or - separators");
        }
    }

    /** River's tag rule: 3 to 255 ASCII word characters, inner hyphens allowed, no commas. */
    public static void validateTag(String tag) {
        if (tag.length() < 3 || tag.length() > 255) {
            throw new ValidationException("tags", "length", "tag \"" + tag + "\" must be 3 to 255 characters");
        }
        if (!tag.matches("[A-Za-z0-9_][A-Za-z0-9_\\-]*[A-Za-z0-9_]")) {
            throw new ValidationException("tags", "pattern", "tag \"" + tag + "\" must be word characters with inner hyphens");
        }
    }

    private static void validateUnique(UniqueOpts u) {
        if (u.byArgs() != null && !u.allArgs()) {
            u.byArgs().forEach(UniqueKey::pathComponents);
        }
        // An empty list of paths is no by_args (UniqueOpts makes it null), so it does not count here.
        if (u.excludeKind() && u.byArgs() == null && u.byPeriod() == null && !u.byQueue()) {
            throw new ValidationException("unique_opts.exclude_kind", "requires_dimension", "exclude_kind requires by_args, by_period or by_queue");
        }
        // Whole seconds, so the period bound does not depend on clock precision (spec/04-unique.md#options).
        if (u.byPeriod() != null && (u.byPeriod().toMillis() < 1000 || u.byPeriod().getNano() != 0)) {
            throw new ValidationException("unique_opts.by_period", "range", "by_period must be a whole number of seconds, at least 1");
        }
        if (u.byState() != null && !u.byState().containsAll(REQUIRED_STATES)) {
            throw new ValidationException("unique_opts.by_state", "required_states", "by_state must include available, pending, running and scheduled");
        }
    }

    private static String iso(Instant t) {
        return DateTimeFormatter.ISO_INSTANT.format(t);
    }

    private List<InsertResult> write(Connection conn, List<Row> rows, Instant now) throws SQLException {
        // Postgres refuses one key twice in an ON CONFLICT statement: send each key once and
        // answer later duplicates with the first one's row.
        Map<String, Integer> firstByKey = new HashMap<>();
        int[] source = new int[rows.size()];
        boolean[] duplicate = new boolean[rows.size()];
        List<Row> sent = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            Integer prior = r.uniqueKey().isEmpty() ? null : firstByKey.get(r.uniqueKey());
            if (prior != null) {
                source[i] = prior;
                duplicate[i] = true;
                continue;
            }
            if (!r.uniqueKey().isEmpty()) {
                firstByKey.put(r.uniqueKey(), sent.size());
            }
            source[i] = sent.size();
            sent.add(r);
        }
        List<InsertResult> inserted = new ArrayList<>();
        try (PreparedStatement st = conn.prepareStatement(insertSql)) {
            st.setString(1, iso(now));
            List<java.util.function.Function<Row, String>> columns = List.of(Row::args, Row::kind, r -> Integer.toString(r.maxAttempts()),
                    Row::metadata, r -> Integer.toString(r.priority()), Row::queue, r -> iso(r.scheduledAt()), Row::state, Row::tags,
                    Row::uniqueKey, r -> Integer.toString(r.uniqueStates()));
            for (int c = 0; c < columns.size(); c++) {
                st.setArray(c + 2, conn.createArrayOf("text", sent.stream().map(columns.get(c)).toArray(String[]::new)));
            }
            // PostgreSQL does not promise RETURNING order, so each row carries ord, its job's
            // 1-based position (spec/03-insert.md#the-insert-statement).
            InsertResult[] placed = new InsertResult[sent.size()];
            int count = 0;
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    long ord = rs.getLong("ord");
                    if (ord < 1 || ord > placed.length || placed[(int) ord - 1] != null) {
                        throw new SQLException("insert returned ordinal " + ord + " for a batch of " + placed.length + " jobs");
                    }
                    placed[(int) ord - 1] = readResult(rs);
                    count++;
                }
            }
            if (count != placed.length) {
                throw new SQLException("insert returned " + count + " rows for " + placed.length + " jobs");
            }
            inserted.addAll(Arrays.asList(placed));
        }
        Set<String> queues = new TreeSet<>();
        for (InsertResult r : inserted) {
            if (!r.uniqueSkippedAsDuplicate() && r.job().state().equals("available")) {
                queues.add(r.job().queue());
            }
        }
        if (!queues.isEmpty()) {
            try (PreparedStatement st = conn.prepareStatement(notifySql)) {
                st.setString(1, schema);
                st.setArray(2, conn.createArrayOf("text", queues.toArray(String[]::new)));
                st.execute();
            }
        }
        List<InsertResult> results = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            InsertResult r = inserted.get(source[i]);
            results.add(duplicate[i] ? new InsertResult(r.job(), true) : r);
        }
        return results;
    }

    private static Instant instant(ResultSet rs, int col) throws SQLException {
        OffsetDateTime t = rs.getObject(col, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    private static List<String> strings(ResultSet rs, int col) throws SQLException {
        Array a = rs.getArray(col);
        return a == null ? List.of() : Arrays.asList((String[]) a.getArray());
    }

    private static InsertResult readResult(ResultSet rs) throws SQLException {
        int mask = rs.getInt(18);
        Integer uniqueStates = rs.wasNull() ? null : mask;
        Job job = new Job(rs.getLong(1), rs.getString(2), rs.getInt(3), instant(rs, 4), strings(rs, 5), instant(rs, 6),
                rs.getString(7), instant(rs, 8), rs.getString(9), rs.getInt(10), rs.getString(11), rs.getInt(12),
                rs.getString(13), instant(rs, 14), rs.getString(15), strings(rs, 16), rs.getBytes(17), uniqueStates);
        return new InsertResult(job, rs.getBoolean(19));
    }
}

package dev.riverboat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Conformance adapter (conformance/ADAPTER.md, profile insert-only-v1): JSON-RPC 2.0 over
 * stdio, one request per line, driving this client's public API.
 */
public final class ConformanceAdapter {
    private static final class RpcError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int code;
        final transient Map<String, Object> data;

        RpcError(int code, String message, Map<String, Object> data) {
            super(message);
            this.code = code;
            this.data = data;
        }
    }

    private static final Set<String> JOB_KEYS = Set.of("kind", "args", "args_json", "opts");
    private static final Set<String> UNIQUE_KEY_KEYS = Set.of("kind", "args", "args_json", "opts", "now");
    private static final Set<String> OPT_KEYS = Set.of("queue", "priority", "max_attempts", "scheduled_at", "pending", "tags", "metadata", "unique_opts");
    private static final Set<String> UNIQUE_KEYS = Set.of("by_args", "by_period_seconds", "by_queue", "by_state", "exclude_kind");

    private final String url;
    private final Properties props;
    private final String schema;
    private Client client;
    private final Map<String, String> contracts = new LinkedHashMap<>();
    private Connection conn;
    private final Map<String, Connection> txs = new HashMap<>();

    private ConformanceAdapter(String url, Properties props, String schema) {
        this.url = url;
        this.props = props;
        this.schema = schema;
        this.client = new Client(schema);
    }

    private static RpcError invalid(String message) {
        return new RpcError(-32602, message, null);
    }

    private static Json.JsonObject obj(Object v, String what) {
        if (v instanceof Json.JsonObject o) {
            return o;
        }
        throw invalid(what + " must be an object");
    }

    private static void onlyKeys(Json.JsonObject o, Set<String> allowed, String what) {
        for (String k : o.keySet()) {
            if (!allowed.contains(k)) {
                throw invalid("unknown member " + k + " in " + what);
            }
        }
    }

    private static Object args(Json.JsonObject p) {
        // A member set to null is absent (ADAPTER.md#insert-params).
        boolean hasArgs = p.get("args") != null;
        boolean hasText = p.get("args_json") instanceof String;
        if (hasArgs == hasText) {
            throw new ValidationException("args", hasArgs ? "conflict" : "required", "give exactly one of args or args_json");
        }
        return new Json.Raw(hasArgs ? p.raw("args") : (String) p.get("args_json"));
    }

    private static Instant time(Object v, String field) {
        if (!(v instanceof String s)) {
            throw new ValidationException(field, "type", field + " must be an RFC 3339 string");
        }
        try {
            return OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (RuntimeException e) {
            throw new ValidationException(field, "format", s + " is not an RFC 3339 timestamp");
        }
    }

    private static int integer(Object v, String field) {
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) {
            return l.intValue();
        }
        throw new ValidationException(field, "type", field + " must be an integer");
    }

    private static Duration period(Object seconds) {
        if (seconds == null) {
            return null;
        }
        if (seconds instanceof Long whole) {
            return Duration.ofSeconds(whole);
        }
        if (seconds instanceof Number fraction) {
            return Duration.ofNanos(Math.round(fraction.doubleValue() * 1e9));
        }
        throw new ValidationException("unique_opts.by_period", "type", "by_period_seconds must be a number");
    }

    @SuppressWarnings("unchecked")
    private static UniqueOpts unique(Object byArgs, Duration period, Object byQueue, Object byState, Object excludeKind) {
        List<String> args = null;
        if (Boolean.TRUE.equals(byArgs)) {
            args = UniqueOpts.ALL_ARGS;
        } else if (byArgs instanceof List<?> paths) {
            args = (List<String>) paths;
        }
        Set<JobState> states = null;
        if (byState instanceof List<?> names) {
            states = EnumSet.noneOf(JobState.class);
            for (Object n : names) {
                states.add(JobState.parse(String.valueOf(n)));
            }
        }
        return new UniqueOpts(args, period, Boolean.TRUE.equals(byQueue), states, Boolean.TRUE.equals(excludeKind));
    }

    private static InsertParams insertParams(Object raw) {
        return insertParams(raw, JOB_KEYS);
    }

    @SuppressWarnings("unchecked")
    private static InsertParams insertParams(Object raw, Set<String> allowed) {
        Json.JsonObject p = obj(raw, "job");
        onlyKeys(p, allowed, "job");
        if (!(p.get("kind") instanceof String kind)) {
            throw invalid("kind must be a string");
        }
        InsertOpts opts = new InsertOpts();
        if (p.get("opts") != null) {
            Json.JsonObject o = obj(p.get("opts"), "opts");
            onlyKeys(o, OPT_KEYS, "opts");
            if (o.get("queue") != null) {
                opts.queue(String.valueOf(o.get("queue")));
            }
            if (o.get("priority") != null) {
                opts.priority(integer(o.get("priority"), "priority"));
            }
            if (o.get("max_attempts") != null) {
                opts.maxAttempts(integer(o.get("max_attempts"), "max_attempts"));
            }
            if (o.get("scheduled_at") != null) {
                opts.scheduledAt(time(o.get("scheduled_at"), "scheduled_at"));
            }
            opts.pending(Boolean.TRUE.equals(o.get("pending")));
            if (o.get("tags") != null) {
                opts.tags((List<String>) o.get("tags"));
            }
            if (o.get("metadata") != null) {
                if (!(o.get("metadata") instanceof Map<?, ?> m)) {
                    throw new ValidationException("metadata", "type", "metadata must be a JSON object");
                }
                opts.metadata((Map<String, ?>) m);
            }
            if (o.get("unique_opts") != null) {
                Json.JsonObject u = obj(o.get("unique_opts"), "unique_opts");
                onlyKeys(u, UNIQUE_KEYS, "unique_opts");
                Duration period = period(u.get("by_period_seconds"));
                opts.unique(unique(u.get("by_args"), period, u.get("by_queue"), u.get("by_state"), u.get("exclude_kind")));
            }
        }
        return new InsertParams(kind, args(p), opts);
    }

    private static List<InsertParams> jobs(Json.JsonObject p) {
        if (!(p.get("jobs") instanceof List<?> list)) {
            throw invalid("jobs must be a list");
        }
        List<InsertParams> out = new ArrayList<>();
        for (Object j : list) {
            out.add(insertParams(j));
        }
        return out;
    }

    /** A time as the protocol writes it (ADAPTER.md#values): UTC, trailing fraction zeros trimmed, Z. */
    private static String fmt(Instant t) {
        return t == null ? null : DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(java.time.ZoneOffset.UTC).format(t)
                .replaceFirst("\\.?0*Z$", "Z");
    }

    private static Map<String, Object> resultJson(InsertResult r) {
        Job j = r.job();
        Map<String, Object> job = new LinkedHashMap<>();
        job.put("id", j.id());
        job.put("args", new Json.Raw(j.args()));
        job.put("attempt", j.attempt());
        job.put("attempted_at", fmt(j.attemptedAt()));
        job.put("attempted_by", j.attemptedBy());
        job.put("created_at", fmt(j.createdAt()));
        job.put("errors", new Json.Raw(j.errors()));
        job.put("finalized_at", fmt(j.finalizedAt()));
        job.put("kind", j.kind());
        job.put("max_attempts", j.maxAttempts());
        job.put("metadata", new Json.Raw(j.metadata()));
        job.put("priority", j.priority());
        job.put("queue", j.queue());
        job.put("scheduled_at", fmt(j.scheduledAt()));
        job.put("state", j.state());
        job.put("tags", j.tags());
        job.put("unique_key", j.uniqueKey() == null ? null : HexFormat.of().formatHex(j.uniqueKey()));
        List<String> states = null;
        if (j.uniqueStates() != null) {
            states = new ArrayList<>();
            for (JobState s : JobState.values()) {
                if ((j.uniqueStates() & (1 << s.ordinal())) != 0) {
                    states.add(s.dbName());
                }
            }
        }
        job.put("unique_states", states);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job", job);
        out.put("unique_skipped_as_duplicate", r.uniqueSkippedAsDuplicate());
        return out;
    }

    private static Map<String, Object> resultsJson(List<InsertResult> rs) {
        List<Object> out = new ArrayList<>();
        for (InsertResult r : rs) {
            out.add(resultJson(r));
        }
        return Map.of("results", out);
    }

    private Connection connection() throws SQLException {
        if (conn == null || conn.isClosed()) {
            conn = DriverManager.getConnection(url, props);
        }
        return conn;
    }

    private Connection tx(Json.JsonObject p) {
        Connection c = txs.get(String.valueOf(p.get("handle")));
        if (c == null) {
            throw new RpcError(-32001, "unknown transaction handle \"" + p.get("handle") + "\"", null);
        }
        return c;
    }

    private Object handle(String method, Json.JsonObject p) throws SQLException {
        switch (method) {
            case "handshake": {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("adapter_version", 1);
                r.put("backend", "postgres");
                r.put("capabilities", List.of("insert", "lifecycle", "transactions", "unique_jobs", "unique_key", "unique_by_args_paths", "args_contract", "validation", "kind_validation", "reserved_metadata"));
                r.put("implementation", "riverboat-java");
                r.put("implementation_version", "0.1.0");
                r.put("methods", List.of("handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many",
                        "tx_rollback", "unique_key", "contract_load"));
                r.put("migration_lines", Map.of("main", 8));
                r.put("profile", "insert-only-v1");
                r.put("protocol_revision", 1);
                return r;
            }
            case "insert":
                return resultJson(client.insert(connection(), insertParams(p)));
            case "insert_many":
                return resultsJson(client.insertMany(connection(), jobs(p)));
            case "tx_begin": {
                String handle = p.get("handle") instanceof String h ? h : "";
                if (handle.isEmpty() || txs.containsKey(handle)) {
                    throw invalid("handle must be non-empty and not in use");
                }
                Connection c = DriverManager.getConnection(url, props);
                c.setAutoCommit(false);
                txs.put(handle, c);
                return Map.of();
            }
            case "tx_insert":
                return resultJson(client.insertTx(tx(p), insertParams(p.get("job"))));
            case "tx_insert_many":
                return resultsJson(client.insertManyTx(tx(p), jobs(p)));
            case "tx_commit":
            case "tx_rollback": {
                try (Connection c = tx(p)) {
                    txs.remove(String.valueOf(p.get("handle")));
                    if (method.equals("tx_commit")) {
                        c.commit();
                    } else {
                        c.rollback();
                    }
                }
                return Map.of();
            }
            case "unique_key": {
                InsertParams job = insertParams(p, UNIQUE_KEY_KEYS);
                Instant now = time(p.get("now"), "now");
                UniqueOpts u = job.opts().unique;
                if (u == null || !u.isUnique()) {
                    Map<String, Object> none = new LinkedHashMap<>();
                    none.put("sha256", null);
                    none.put("state_mask", null);
                    return none;
                }
                String encoded = Json.encode(job.args());
                String queue = job.opts().queue != null ? job.opts().queue : "default";
                byte[] key = UniqueKey.compute(job.kind(), encoded, queue, u, job.opts().scheduledAt, now);
                return Map.of("sha256", HexFormat.of().formatHex(key), "state_mask", UniqueKey.stateMask(u));
            }
            case "contract_load": {
                if (!(p.get("kind") instanceof String kind) || p.raw("contract") == null) {
                    throw invalid("contract_load needs kind and contract");
                }
                contracts.put(kind, p.raw("contract"));
                Client next = new Client(schema);
                for (Map.Entry<String, String> e : contracts.entrySet()) {
                    next.setKindContract(e.getKey(), e.getValue(), Client.KindDefaults.NONE);
                }
                client = next;
                return Map.of();
            }
            default:
                throw new RpcError(-32601, "method not found: " + method, null);
        }
    }

    private Map<String, Object> respond(String line) {
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("jsonrpc", "2.0");
        Object request;
        try {
            request = Json.parse(line);
        } catch (IllegalArgumentException e) {
            response.put("id", null);
            response.put("error", Map.of("code", -32700, "message", "parse error: " + e.getMessage()));
            return response;
        }
        if (!(request instanceof Json.JsonObject req) || !"2.0".equals(req.get("jsonrpc")) || !(req.get("method") instanceof String method)) {
            response.put("id", request instanceof Json.JsonObject r ? r.get("id") : null);
            response.put("error", Map.of("code", -32600, "message", "not a JSON-RPC 2.0 request"));
            return response;
        }
        response.put("id", req.get("id"));
        Map<String, Object> error = new LinkedHashMap<>();
        try {
            Json.JsonObject params = req.get("params") == null ? new Json.JsonObject() : obj(req.get("params"), "params");
            response.put("result", handle(method, params));
            return response;
        } catch (ContractViolationException e) {
            error.put("code", -32002);
            error.put("message", e.getMessage());
            error.put("data", Map.of("reason", "contract_violation", "pointer", e.pointer(), "rule", e.keyword()));
        } catch (ValidationException e) {
            error.put("code", -32602);
            error.put("message", e.getMessage());
            error.put("data", Map.of("field", e.field(), "rule", e.rule()));
        } catch (DatabaseException e) {
            error.put("code", -32003);
            error.put("message", e.getMessage());
            if (e.sqlState() != null) {
                error.put("data", Map.of("sqlstate", e.sqlState()));
            }
        } catch (SQLException e) {
            error.put("code", -32003);
            error.put("message", e.getMessage());
            if (e.getSQLState() != null) {
                error.put("data", Map.of("sqlstate", e.getSQLState()));
            }
        } catch (RpcError e) {
            error.put("code", e.code);
            error.put("message", e.getMessage());
            if (e.data != null) {
                error.put("data", e.data);
            }
        } catch (RuntimeException e) {
            e.printStackTrace(System.err);
            error.put("code", -32602);
            error.put("message", "invalid params: " + e);
        }
        response.put("error", error);
        return response;
    }

    /** Turns a libpq URL (TCP host) into a JDBC URL plus properties. */
    private static ConformanceAdapter fromEnvironment() {
        URI uri = URI.create(System.getenv("RIVER_CONFORMANCE_DATABASE_URL"));
        Properties props = new Properties();
        String host = uri.getHost() == null ? "localhost" : uri.getHost();
        int port = uri.getPort() == -1 ? 5432 : uri.getPort();
        if (uri.getUserInfo() != null) {
            String[] parts = uri.getUserInfo().split(":", 2);
            props.setProperty("user", decode(parts[0]));
            if (parts.length > 1) {
                props.setProperty("password", decode(parts[1]));
            }
        }
        if (uri.getRawQuery() != null) {
            for (String kv : uri.getRawQuery().split("&")) {
                String[] parts = kv.split("=", 2);
                String value = parts.length > 1 ? decode(parts[1]) : "";
                switch (parts[0]) {
                    case "host" -> host = value;
                    case "port" -> port = Integer.parseInt(value);
                    case "user" -> props.setProperty("user", value);
                    case "password" -> props.setProperty("password", value);
                    default -> props.setProperty(parts[0], value);
                }
            }
        }
        String app = System.getenv("RIVER_CONFORMANCE_APPLICATION_NAME");
        if (app != null && !app.isEmpty()) {
            props.setProperty("ApplicationName", app);
        }
        String db = uri.getPath() == null || uri.getPath().length() <= 1 ? "postgres" : decode(uri.getPath().substring(1));
        String jdbc = "jdbc:postgresql://" + host + ":" + port + "/" + db;
        String schema = System.getenv("RIVER_CONFORMANCE_SCHEMA");
        return new ConformanceAdapter(jdbc, props, schema == null || schema.isEmpty() ? null : schema);
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    public static void main(String[] argv) throws Exception {
        ConformanceAdapter adapter = fromEnvironment();
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            out.print(Json.encode(adapter.respond(line)));
            out.print('\n');
            out.flush();
        }
    }
}

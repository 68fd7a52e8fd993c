-- riverboat 001 up: riverboat_job_insert_v1, SQL-only enqueue with the client's defaults, validation,
-- unique keys (identical to River Go's), upsert and insert notification (spec/13-sql-enqueue.md).

-- A JSON object key as River writes it into canonical args: verbatim when printable ASCII
-- without '"' or '\', else encoded as Go's encoding/json encodes the string.
CREATE FUNCTION /* TEMPLATE: schema */riverboat_json_key_v1(key text)
RETURNS text
LANGUAGE sql
IMMUTABLE STRICT
AS $$
    SELECT CASE
        WHEN convert_to(key, 'UTF8') = convert_to(translate(key, '"\', ''), 'UTF8')
            AND key !~ '[^ -~\x7f]'
            THEN '"' || key || '"'
        ELSE replace(replace(replace(replace(replace(to_json(key)::text,
            '<', '\u003c'), '>', '\u003e'), '&', '\u0026'), U&'\2028', '\u2028'), U&'\2029', '\u2029')
    END
$$;

-- The components of a selected dotted path: split on unescaped '.', a '\' making the next
-- character literal. Each must be a non-empty object key: River resolves a numeric component
-- as an array index, which selected args do not support (spec/04-unique.md#options).
CREATE FUNCTION /* TEMPLATE: schema */riverboat_unique_path_v1(path text)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE STRICT
AS $$
DECLARE
    components text[] := '{}';
    current text := '';
    i integer := 1;
BEGIN
    WHILE i <= length(path) LOOP
        IF substr(path, i, 1) = '\' THEN
            i := i + 1;
            -- A trailing '\' stands for itself.
            current := current || coalesce(nullif(substr(path, i, 1), ''), '\');
        ELSIF substr(path, i, 1) = '.' THEN
            components := components || current;
            current := '';
        ELSE
            current := current || substr(path, i, 1);
        END IF;
        i := i + 1;
    END LOOP;
    components := components || current;
    IF EXISTS (SELECT 1 FROM unnest(components) AS c WHERE c = '' OR c ~ '^[0-9]+$' OR c = '-1') THEN
        RAISE EXCEPTION 'riverboat: unique_opts.by_args: path components must be non-empty object keys, not array indexes (got %)', path
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN components;
END;
$$;

-- Selected-path canonical args: each path (a jsonb array of keys) set to its raw JSON text,
-- into an object built in path order.
CREATE FUNCTION /* TEMPLATE: schema */riverboat_unique_render_v1(paths jsonb[], raws text[])
RETURNS text
LANGUAGE plpgsql
IMMUTABLE STRICT
AS $$
DECLARE
    heads text[] := '{}';
    head text;
    members text[] := '{}';
    leaf text;
    sub_paths jsonb[];
    sub_raws text[];
    i integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(paths, 1), 0) LOOP
        IF NOT (paths[i] ->> 0) = ANY (heads) THEN
            heads := heads || (paths[i] ->> 0);
        END IF;
    END LOOP;
    FOREACH head IN ARRAY heads LOOP
        leaf := NULL;
        sub_paths := '{}';
        sub_raws := '{}';
        FOR i IN 1 .. array_length(paths, 1) LOOP
            CONTINUE WHEN (paths[i] ->> 0) <> head;
            IF jsonb_array_length(paths[i]) = 1 THEN
                leaf := raws[i];
            ELSE
                sub_paths := sub_paths || (paths[i] - 0);
                sub_raws := sub_raws || raws[i];
            END IF;
        END LOOP;
        IF leaf IS NOT NULL AND cardinality(sub_paths) > 0 THEN
            RAISE EXCEPTION 'riverboat: unique_opts.by_args: a path may not be a prefix of another in SQL enqueue (%)', head
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        members := members || (/* TEMPLATE: schema */riverboat_json_key_v1(head) || ':'
            || coalesce(leaf, /* TEMPLATE: schema */riverboat_unique_render_v1(sub_paths, sub_raws)));
    END LOOP;
    RETURN '{' || array_to_string(members, ',') || '}';
END;
$$;

-- Canonical args of the unique key (spec/04-unique.md): all top-level members sorted by key
-- bytes, first duplicate winning, values verbatim; or only the selected dotted paths
-- (by_args given as a list), '' when none is present.
CREATE FUNCTION /* TEMPLATE: schema */riverboat_unique_args_v1(args json, selected jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    result text;
    paths jsonb[] := '{}';
    raws text[] := '{}';
    components text[];
    raw json;
BEGIN
    IF selected IS NULL THEN
        SELECT '{' || coalesce(string_agg(/* TEMPLATE: schema */riverboat_json_key_v1(m.key) || ':' || m.value::text, ','
                ORDER BY convert_to(m.key, 'UTF8')), '') || '}'
            INTO result
            FROM (
                SELECT DISTINCT ON (e.key) e.key, e.value
                FROM json_each(args) WITH ORDINALITY AS e (key, value, ord)
                ORDER BY e.key, e.ord
            ) AS m;
        RETURN result;
    END IF;
    -- Paths are sorted as River sorts them: by the components joined with '.', then by the
    -- components escaped and joined (which tells a\.b from a.b).
    FOR components IN
        SELECT s.c FROM (
            SELECT /* TEMPLATE: schema */riverboat_unique_path_v1(p) AS c FROM jsonb_array_elements_text(selected) AS p
        ) AS s
        ORDER BY convert_to(array_to_string(s.c, '.'), 'UTF8'),
            convert_to(array_to_string(ARRAY(
                SELECT replace(replace(u.k, '\', '\\'), '.', '\.')
                FROM unnest(s.c) WITH ORDINALITY AS u (k, n) ORDER BY u.n
            ), '.'), 'UTF8')
    LOOP
        raw := args #> components;
        CONTINUE WHEN raw IS NULL;
        paths := paths || to_jsonb(components);
        raws := raws || raw::text;
    END LOOP;
    IF cardinality(paths) = 0 THEN
        RETURN '';
    END IF;
    RETURN /* TEMPLATE: schema */riverboat_unique_render_v1(paths, raws);
END;
$$;

-- Enqueue one job from SQL. opts takes the keys of a kind's insert_opts in the job-args
-- contract (queue, priority, max_attempts, scheduled_at, pending, tags, metadata, unique_opts).
CREATE FUNCTION /* TEMPLATE: schema */riverboat_job_insert_v1(kind text, args text, opts jsonb DEFAULT '{}')
RETURNS TABLE (job /* TEMPLATE: schema */river_job, unique_skipped_as_duplicate boolean)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    v_kind text := riverboat_job_insert_v1.kind;
    v_args json;
    v_opts jsonb := coalesce(riverboat_job_insert_v1.opts, '{}');
    v_unique jsonb;
    v_queue text;
    v_priority integer;
    v_max_attempts integer;
    v_scheduled_at timestamptz;
    v_state text;
    v_tags varchar(255)[] := '{}';
    v_tag text;
    v_metadata jsonb := '{}';
    v_key text;
    v_key_text text := '';
    v_unique_key bytea;
    v_unique_states integer;
    v_period numeric;
    v_micros numeric;
    v_step numeric;
    v_states text[];
    v_job /* TEMPLATE: schema */river_job;
    v_skipped boolean;
    v_id bigint;
    v_schema text;
BEGIN
    IF v_kind IS NULL OR length(v_kind) NOT BETWEEN 1 AND 127 THEN
        RAISE EXCEPTION 'riverboat: kind: must be a string of 1 to 127 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN
        v_args := riverboat_job_insert_v1.args::json;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'riverboat: args: must be JSON text' USING ERRCODE = 'invalid_parameter_value';
    END;
    -- Compacted as River Go's json.Marshal compacts pre-encoded JSON (spec/03-insert.md#json-text):
    -- whitespace outside strings dropped, then < > & U+2028 U+2029 escaped (valid JSON has them
    -- only inside strings). The compact text is what is hashed and stored.
    v_args := replace(replace(replace(replace(replace(
        regexp_replace(v_args::text, '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g'),
        '<', '\u003c'), '>', '\u003e'), '&', '\u0026'), U&'\2028', '\u2028'), U&'\2029', '\u2029')::json;
    IF v_args IS NULL OR json_typeof(v_args) <> 'object' THEN
        RAISE EXCEPTION 'riverboat: args: must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(v_opts) <> 'object' THEN
        RAISE EXCEPTION 'riverboat: opts: must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(v_opts) LOOP
        IF NOT v_key = ANY (ARRAY['queue', 'priority', 'max_attempts', 'scheduled_at', 'pending', 'tags', 'metadata', 'unique_opts']) THEN
            RAISE EXCEPTION 'riverboat: %: is not an insert option', v_key USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;

    v_queue := coalesce(v_opts ->> 'queue', 'default');
    IF jsonb_typeof(v_opts -> 'queue') NOT IN ('string', 'null')
        OR length(v_queue) > 64 OR v_queue !~ '^[a-z0-9]+(?:[_|-][a-z0-9]+)*$' THEN
        RAISE EXCEPTION 'riverboat: queue: must be a queue name of at most 64 lowercase letters, digits and single _ - | separators (got %)', v_opts -> 'queue'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF jsonb_typeof(v_opts -> 'priority') NOT IN ('number', 'null')
        OR coalesce((v_opts ->> 'priority')::numeric NOT IN (1, 2, 3, 4), false) THEN
        RAISE EXCEPTION 'riverboat: priority: must be an integer from 1 (highest) to 4 (got %)', v_opts -> 'priority'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_priority := coalesce((v_opts ->> 'priority')::integer, 1);

    IF jsonb_typeof(v_opts -> 'max_attempts') NOT IN ('number', 'null')
        OR coalesce((v_opts ->> 'max_attempts')::numeric NOT BETWEEN 1 AND 32767
            OR (v_opts ->> 'max_attempts')::numeric <> trunc((v_opts ->> 'max_attempts')::numeric), false) THEN
        RAISE EXCEPTION 'riverboat: max_attempts: must be an integer from 1 to 32767 (got %)', v_opts -> 'max_attempts'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_max_attempts := coalesce((v_opts ->> 'max_attempts')::integer, 25);

    IF v_opts ? 'scheduled_at' AND jsonb_typeof(v_opts -> 'scheduled_at') <> 'null' THEN
        IF jsonb_typeof(v_opts -> 'scheduled_at') <> 'string'
            OR (v_opts ->> 'scheduled_at') !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)$' THEN
            RAISE EXCEPTION 'riverboat: scheduled_at: must be an RFC 3339 time with a zone offset (got %)', v_opts -> 'scheduled_at'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_scheduled_at := (v_opts ->> 'scheduled_at')::timestamptz;
    END IF;

    IF jsonb_typeof(v_opts -> 'pending') NOT IN ('boolean', 'null') THEN
        RAISE EXCEPTION 'riverboat: pending: must be a boolean (got %)', v_opts -> 'pending' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF jsonb_typeof(v_opts -> 'tags') NOT IN ('array', 'null') THEN
        RAISE EXCEPTION 'riverboat: tags: must be a list of strings (got %)', v_opts -> 'tags' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(v_opts -> 'tags') = 'array' THEN
        FOR i IN 0 .. jsonb_array_length(v_opts -> 'tags') - 1 LOOP
            v_tag := (v_opts -> 'tags') ->> i;
            IF jsonb_typeof((v_opts -> 'tags') -> i) <> 'string' OR length(v_tag) > 255
                OR v_tag !~ '^[0-9A-Za-z_][0-9A-Za-z_\-]+[0-9A-Za-z_]$' THEN
                RAISE EXCEPTION 'riverboat: tags: each tag must be 3 to 255 ASCII letters, digits or _, with - allowed inside (no commas) (got %)', (v_opts -> 'tags') -> i
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_tags := v_tags || v_tag::varchar(255);
        END LOOP;
    END IF;

    IF jsonb_typeof(v_opts -> 'metadata') NOT IN ('object', 'null') THEN
        RAISE EXCEPTION 'riverboat: metadata: must be a JSON object (got %)', v_opts -> 'metadata' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(v_opts -> 'metadata') = 'object' THEN
        v_metadata := v_opts -> 'metadata';
        IF EXISTS (SELECT 1 FROM jsonb_object_keys(v_metadata) AS k WHERE k LIKE 'river:%') THEN
            RAISE EXCEPTION 'riverboat: metadata: keys beginning ''river:'' are reserved for River' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;

    IF coalesce((v_opts ->> 'pending')::boolean, false) THEN
        v_state := 'pending';
    ELSIF v_scheduled_at IS NOT NULL THEN
        v_state := 'scheduled';
    ELSE
        v_state := 'available';
    END IF;

    v_unique := v_opts -> 'unique_opts';
    IF v_unique IS NOT NULL AND jsonb_typeof(v_unique) <> 'null' THEN
        IF jsonb_typeof(v_unique) <> 'object' THEN
            RAISE EXCEPTION 'riverboat: unique_opts: must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR v_key IN SELECT jsonb_object_keys(v_unique) LOOP
            IF NOT v_key = ANY (ARRAY['by_args', 'by_period_seconds', 'by_queue', 'by_state', 'exclude_kind']) THEN
                RAISE EXCEPTION 'riverboat: unique_opts.%: is not a unique option', v_key USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
        IF jsonb_typeof(v_unique -> 'by_args') NOT IN ('boolean', 'array', 'null')
            OR (jsonb_typeof(v_unique -> 'by_args') = 'array' AND EXISTS (
                SELECT 1 FROM jsonb_array_elements(v_unique -> 'by_args') AS p
                WHERE jsonb_typeof(p) <> 'string' OR p #>> '{}' = '')) THEN
            RAISE EXCEPTION 'riverboat: unique_opts.by_args: must be a boolean or a list of dotted paths' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- An empty list of paths is the same as leaving by_args out (spec/04-unique.md#options).
        IF v_unique -> 'by_args' = '[]'::jsonb THEN
            v_unique := v_unique - 'by_args';
        END IF;
        IF jsonb_typeof(v_unique -> 'by_queue') NOT IN ('boolean', 'null') OR jsonb_typeof(v_unique -> 'exclude_kind') NOT IN ('boolean', 'null') THEN
            RAISE EXCEPTION 'riverboat: unique_opts: by_queue and exclude_kind must be booleans' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF jsonb_typeof(v_unique -> 'by_period_seconds') NOT IN ('number', 'null')
            OR coalesce((v_unique ->> 'by_period_seconds')::numeric < 1
                OR (v_unique ->> 'by_period_seconds')::numeric <> trunc((v_unique ->> 'by_period_seconds')::numeric), false) THEN
            RAISE EXCEPTION 'riverboat: unique_opts.by_period: must be a whole number of seconds, at least 1 (got %)', v_unique -> 'by_period_seconds'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF jsonb_typeof(v_unique -> 'by_state') NOT IN ('array', 'null') THEN
            RAISE EXCEPTION 'riverboat: unique_opts.by_state: must be a sequence of job states' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF jsonb_typeof(v_unique -> 'by_state') = 'array' THEN
            v_states := ARRAY(SELECT jsonb_array_elements_text(v_unique -> 'by_state'));
            IF NOT v_states <@ ARRAY['available', 'cancelled', 'completed', 'discarded', 'pending', 'retryable', 'running', 'scheduled'] THEN
                RAISE EXCEPTION 'riverboat: unique_opts.by_state: must contain only known job states' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF NOT v_states @> ARRAY['available', 'pending', 'running', 'scheduled'] THEN
                RAISE EXCEPTION 'riverboat: unique_opts.by_state: must include available, pending, running and scheduled' USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END IF;
        IF coalesce((v_unique ->> 'exclude_kind')::boolean, false)
            AND NOT (coalesce(jsonb_typeof(v_unique -> 'by_args') = 'array' OR (v_unique ->> 'by_args')::boolean, false)
                OR coalesce((v_unique ->> 'by_queue')::boolean, false) OR v_unique ? 'by_period_seconds') THEN
            RAISE EXCEPTION 'riverboat: unique_opts.exclude_kind: requires by_args, by_period or by_queue' USING ERRCODE = 'invalid_parameter_value';
        END IF;

        IF coalesce(jsonb_typeof(v_unique -> 'by_args') = 'array' OR (v_unique ->> 'by_args')::boolean, false)
            OR coalesce((v_unique ->> 'by_queue')::boolean, false)
            OR v_unique ->> 'by_period_seconds' IS NOT NULL
            OR v_states IS NOT NULL THEN
            IF NOT coalesce((v_unique ->> 'exclude_kind')::boolean, false) THEN
                v_key_text := v_key_text || '&kind=' || v_kind;
            END IF;
            IF jsonb_typeof(v_unique -> 'by_args') = 'array' THEN
                v_key_text := v_key_text || '&args=' || /* TEMPLATE: schema */riverboat_unique_args_v1(v_args, v_unique -> 'by_args');
            ELSIF coalesce((v_unique ->> 'by_args')::boolean, false) THEN
                v_key_text := v_key_text || '&args=' || /* TEMPLATE: schema */riverboat_unique_args_v1(v_args, NULL);
            END IF;
            IF v_unique ->> 'by_period_seconds' IS NOT NULL THEN
                -- Periods count from Go's zero time, 0001-01-01T00:00:00Z, in microseconds.
                v_period := (v_unique ->> 'by_period_seconds')::numeric;
                v_micros := (extract(epoch FROM coalesce(v_scheduled_at, now())) + 62135596800) * 1000000;
                v_step := round(v_period * 1000000);
                v_key_text := v_key_text || '&period=' || to_char(
                    to_timestamp(((v_micros - mod(v_micros, v_step)) / 1000000 - 62135596800)::double precision) AT TIME ZONE 'UTC',
                    'YYYY-MM-DD"T"HH24:MI:SS"Z"');
            END IF;
            IF coalesce((v_unique ->> 'by_queue')::boolean, false) THEN
                v_key_text := v_key_text || '&queue=' || v_queue;
            END IF;
            v_unique_key := sha256(convert_to(v_key_text, 'UTF8'));
            v_unique_states := CASE WHEN v_states IS NULL THEN 245 ELSE (
                SELECT sum(DISTINCT CASE s
                    WHEN 'available' THEN 1 WHEN 'cancelled' THEN 2 WHEN 'completed' THEN 4 WHEN 'discarded' THEN 8
                    WHEN 'pending' THEN 16 WHEN 'retryable' THEN 32 WHEN 'running' THEN 64 WHEN 'scheduled' THEN 128 END)
                FROM unnest(v_states) AS s) END;
        END IF;
    END IF;

    INSERT INTO /* TEMPLATE: schema */river_job AS j (
        args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states
    ) VALUES (
        v_args::jsonb, now(), v_kind, v_max_attempts, v_metadata, v_priority, v_queue, coalesce(v_scheduled_at, now()),
        v_state::/* TEMPLATE: schema */river_job_state, v_tags, v_unique_key, v_unique_states::bit(8)
    )
    ON CONFLICT (unique_key)
        WHERE unique_key IS NOT NULL
            AND unique_states IS NOT NULL
            AND /* TEMPLATE: schema */river_job_state_in_bitmask(unique_states, state)
        -- A no-op update that locks and returns the live row, which keeps its own kind.
        DO UPDATE SET kind = j.kind
    RETURNING j.id, (j.xmax <> 0) INTO v_id, v_skipped;
    -- A row variable cannot share an INTO list, so the stored row is read back by id.
    SELECT * INTO v_job FROM /* TEMPLATE: schema */river_job WHERE id = v_id;

    IF v_state = 'available' AND NOT v_skipped THEN
        SELECT n.nspname INTO v_schema
        FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE c.oid = '/* TEMPLATE: schema */river_job'::regclass;
        PERFORM pg_notify(v_schema || '.river_insert', json_build_object('queue', v_queue)::text);
    END IF;

    job := v_job;
    unique_skipped_as_duplicate := v_skipped;
    RETURN NEXT;
END;
$$;

-- Every catalog fact of one schema that the protocol fixes, one row per object: its kind, its name, the
-- table or type it belongs to and a text definition, for comparing two schemas
-- (spec/01-schema.md#verifying). Column positions count only live columns, so a dropped and re-added
-- column compares equal to one never dropped.
WITH target AS (
    SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = coalesce(%(schema)s::text, current_schema()::text)
)
SELECT 'relation' AS kind, c.relname::text AS name, c.relname::text AS owner,
    'relkind=' || c.relkind::text || ' persistence=' || c.relpersistence::text AS definition
FROM pg_catalog.pg_class c
WHERE c.relnamespace = (SELECT oid FROM target) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'column', c.relname || '.' || a.attname, c.relname::text,
    'position=' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
    || ' type=' || pg_catalog.format_type(a.atttypid, a.atttypmod)
    || ' not_null=' || a.attnotnull::text
    || ' default=' || coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '(none)')
    || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = (SELECT oid FROM target) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', coalesce(c.relname, t.typname) || '.' || con.conname, coalesce(c.relname, t.typname)::text,
    'type=' || con.contype::text || ' ' || pg_catalog.pg_get_constraintdef(con.oid)
FROM pg_catalog.pg_constraint con
LEFT JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
LEFT JOIN pg_catalog.pg_type t ON t.oid = con.contypid
WHERE con.connamespace = (SELECT oid FROM target)
UNION ALL
SELECT 'index', i.relname::text, tc.relname::text, pg_catalog.pg_get_indexdef(i.oid)
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_class tc ON tc.oid = x.indrelid
WHERE i.relnamespace = (SELECT oid FROM target)
UNION ALL
SELECT 'enum', t.typname::text, t.typname::text, array_to_string(array_agg(e.enumlabel ORDER BY e.enumsortorder), ', ')
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = (SELECT oid FROM target)
GROUP BY t.typname
UNION ALL
SELECT 'function', p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', p.proname::text,
    pg_catalog.pg_get_functiondef(p.oid)
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = (SELECT oid FROM target) AND p.prokind IN ('f', 'p')
UNION ALL
SELECT 'sequence', s.sequencename::text, s.sequencename::text,
    'type=' || s.data_type::text || ' start=' || s.start_value || ' min=' || s.min_value
    || ' max=' || s.max_value || ' increment=' || s.increment_by || ' cycle=' || s.cycle::text
    || ' owned_by=' || coalesce((
        SELECT oc.relname || '.' || oa.attname
        FROM pg_catalog.pg_depend dep
        JOIN pg_catalog.pg_class oc ON oc.oid = dep.refobjid
        JOIN pg_catalog.pg_attribute oa ON oa.attrelid = dep.refobjid AND oa.attnum = dep.refobjsubid
        WHERE dep.classid = 'pg_catalog.pg_class'::regclass
            AND dep.objid = (
                SELECT sc.oid FROM pg_catalog.pg_class sc
                WHERE sc.relname = s.sequencename AND sc.relnamespace = (SELECT oid FROM target)
            )
            AND dep.deptype IN ('a', 'i')
    ), '(none)')
FROM pg_catalog.pg_sequences s
WHERE s.schemaname = coalesce(%(schema)s::text, current_schema()::text)
UNION ALL
SELECT 'trigger', c.relname || '.' || tg.tgname, c.relname::text, pg_catalog.pg_get_triggerdef(tg.oid)
FROM pg_catalog.pg_trigger tg
JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
WHERE c.relnamespace = (SELECT oid FROM target) AND NOT tg.tgisinternal
ORDER BY 1, 2;

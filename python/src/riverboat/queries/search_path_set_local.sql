-- Puts one schema first on the search path until the transaction ends, so catalog deparsing names its
-- objects without a schema (spec/01-schema.md#verifying).
SELECT pg_catalog.set_config('search_path', %(search_path)s, true);

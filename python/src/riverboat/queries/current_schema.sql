-- The schema unqualified names resolve to: the first existing schema on the search path
-- (spec/01-schema.md#custom-schemas).
SELECT current_schema();

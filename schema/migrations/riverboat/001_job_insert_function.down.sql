-- riverboat 001 down: drop the SQL-only enqueue functions (spec/13-sql-enqueue.md).
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */riverboat_job_insert_v1(text, text, jsonb);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */riverboat_unique_args_v1(json, jsonb);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */riverboat_unique_render_v1(jsonb[], text[]);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */riverboat_unique_path_v1(text);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */riverboat_json_key_v1(text);

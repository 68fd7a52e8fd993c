// Copies what the compiled package reads at run time next to it in dist/: the SQL
// statements and the job-args contract's meta-schema (kept once, in the repository's
// schema/json/).
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const dist = path.join(root, "dist");
fs.cpSync(path.join(root, "src", "sql"), path.join(dist, "sql"), { recursive: true });
fs.mkdirSync(path.join(dist, "schema"), { recursive: true });
fs.copyFileSync(
  path.join(root, "..", "..", "schema", "json", "job-args-contract.schema.json"),
  path.join(dist, "schema", "job-args-contract.schema.json"),
);

// Load generator for the pipechat benchmark: `node loadgen.mjs spec.json`.
// The driver (bench/run.py) writes the spec; this prints event lines and one result line
// (JSON) on stdout, and progress on stderr.
import { readFileSync } from "node:fs";
import { emitLine } from "./clients.mjs";
import { runFanout } from "./fanout.mjs";
import { runIdle } from "./idle.mjs";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
try {
  const result = spec.kind === "idle" ? await runIdle(spec) : await runFanout(spec);
  emitLine({ event: "result", result });
  process.exit(0);
} catch (err) {
  emitLine({ event: "error", error: String(err?.stack ?? err) });
  process.exit(1);
}

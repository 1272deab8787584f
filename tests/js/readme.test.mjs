// The README's examples run as written: every ```js block that follows a
// `<!-- tested: tests/js/readme.test.mjs ... -->` line is saved as a module here (so it imports
// this directory's socket.io-client), pointed at a real server by replacing the README's
// `http://127.0.0.1:8000`, and run with Node (or imported by the driver script the marker
// names); it must exit 0 and print what the README (or the driver) says.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(resolve(here, "..", "..", "README.md"), "utf8");
const MARKER = "<!-- tested: tests/js/readme.test.mjs";

/** The tested blocks: [{name, code, expect}] in README order. */
function testedBlocks() {
  const blocks = [];
  for (const part of readme.split(MARKER).slice(1)) {
    const name = part.slice(0, part.indexOf("-->")).trim();
    const code = part.match(/```js\n([\s\S]*?)\n```/)[1];
    // The README says what the block prints, as `prints: ...` inside the marker.
    const expect = [...name.matchAll(/prints "([^"]+)"/g)].map((m) => m[1]);
    // A block that is a module others use names the script that drives it.
    const driver = name.match(/driven by tests\/js\/(\S+\.mjs)/)?.[1];
    blocks.push({ name, code, expect, driver });
  }
  return blocks;
}

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

test("the README has tested blocks", () => {
  assert.ok(testedBlocks().length >= 1);
});

for (const [index, block] of testedBlocks().entries()) {
  test(`README block ${index + 1} runs as written: ${block.name}`, async () => {
    assert.ok(block.code.includes("http://127.0.0.1:8000"), "the block names the quick-start URL");
    const file = join(here, `.readme-block-${index + 1}.mjs`);
    writeFileSync(file, block.code.replaceAll("http://127.0.0.1:8000", server.url));
    try {
      const script = block.driver ? join(here, block.driver) : file;
      const env = { ...process.env, PIPECHAT_URL: server.url, README_BLOCK: file };
      const { stdout } = await promisify(execFile)(process.execPath, [script],
        { cwd: here, timeout: 60_000, env });
      for (const expected of block.expect) assert.match(stdout, new RegExp(expected));
    } finally {
      rmSync(file, { force: true });
    }
  });
}

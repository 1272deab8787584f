// The pins setup.py checks the installed client against (and the CDN fallback's) are those of
// the npm package this suite installs.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CLIENT_DIST, HERE, REPO } from "./support.mjs";

test("the pinned CDN URL and SRI hash match the installed socket.io-client", () => {
  const pin = JSON.parse(readFileSync(join(REPO, "src/pipechat/web/socketio_client.json")));
  const installed = JSON.parse(
    readFileSync(join(HERE, "node_modules/socket.io-client/package.json")));
  assert.equal(pin.version, installed.version);
  assert.equal(pin.url, `https://cdn.socket.io/${installed.version}/socket.io.min.js`);
  const bundle = readFileSync(join(CLIENT_DIST, "socket.io.min.js"));
  assert.equal(pin.integrity, `sha384-${createHash("sha384").update(bundle).digest("base64")}`);
  const lock = JSON.parse(readFileSync(join(HERE, "package-lock.json")));
  assert.equal(pin.tarball, lock.packages["node_modules/socket.io-client"].integrity);
});

test("the client installed with pipechat is the pinned file", () => {
  const pin = JSON.parse(readFileSync(join(REPO, "src/pipechat/web/socketio_client.json")));
  const installed = readFileSync(join(REPO, "src/pipechat/web/vendor/socket.io.min.js"));
  assert.equal(pin.integrity,
    `sha384-${createHash("sha384").update(installed).digest("base64")}`);
});

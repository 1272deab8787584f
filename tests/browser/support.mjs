// A real `pipechat serve` process and Debian's Chromium driven by playwright-core.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "../..");
export const ARTIFACTS = join(REPO, "test-artifacts");
export const CLIENT_DIST = join(HERE, "node_modules/socket.io-client/dist");
export const MAX_LENGTH = 200; // PIPECHAT_MESSAGE_MAX_LENGTH of the test servers
export const PASSWORD = "correct horse battery";
const CHROMIUM = process.env.PIPECHAT_TEST_CHROMIUM ?? "/usr/bin/chromium";

async function freePort() {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

/** `pipechat serve` on a free port with a fresh data directory (embedded SQLite). */
export async function startServer(name, env = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `pipechat-browser-${name}-`));
  mkdirSync(ARTIFACTS, { recursive: true });
  const log = createWriteStream(join(ARTIFACTS, `server-${name}.log`));
  const inherited = { ...process.env };
  for (const key of ["PIPECHAT_DATABASE_URL", "PIPECHAT_REDIS_URL", "PIPECHAT_JWT_SECRET"]) {
    delete inherited[key];
  }
  const child = spawn(join(REPO, ".venv/bin/pipechat"), ["serve", "--port", String(port)], {
    env: {
      ...inherited,
      PIPECHAT_DATA_DIR: dataDir,
      PIPECHAT_ARGON2_TIME_COST: "1",
      PIPECHAT_ARGON2_MEMORY_KIB: "1024",
      // The test pages through more chats than one user may create per window by default.
      PIPECHAT_CHATS_PER_USER: "1000",
      PIPECHAT_MESSAGE_MAX_LENGTH: String(MAX_LENGTH),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium; Playwright gives every launch a fresh temporary user-data dir. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // headless: true adds --headless itself.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A browser context without internet: every request that does not go to the test server is
 * refused and recorded (there must be none), as are uncaught page errors.
 */
export async function offlineContext(browser, serverUrl, options = {}) {
  const context = await browser.newContext(options);
  const report = { pageErrors: [], foreignRequests: [] };
  const origin = new URL(serverUrl).origin;
  await context.route((url) => url.origin !== origin, (route) => {
    report.foreignRequests.push(route.request().url());
    return route.abort("internetdisconnected");
  });
  await context.routeWebSocket((url) => url.origin !== origin.replace(/^http/, "ws"), (ws) => {
    report.foreignRequests.push(ws.url());
    ws.close({ code: 1011, reason: "no internet" });
  });
  context.on("page", (page) => page.on("pageerror", (error) => report.pageErrors.push(error)));
  return { context, report };
}

/** A phone-sized context without internet whose Socket.IO link the test can cut. */
export async function phoneContext(browser, serverUrl) {
  const { context, report } = await offlineContext(browser, serverUrl,
    { viewport: { width: 390, height: 780 } });
  return { context, report, link: await cuttableLink(context) };
}

/**
 * Routes the context's Socket.IO traffic through Playwright so a test can drop it:
 * `cut()` closes the open WebSockets and refuses new Socket.IO requests until `restore()`;
 * `lose(text)` drops the WebSocket frames from the page that contain `text` (a lost packet);
 * `miss(text)` drops the next frame to the page that contains `text` (a lost event).
 */
async function cuttableLink(context) {
  let cut = false;
  const lost = new Set();
  const missed = new Set();
  const open = new Set();
  await context.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (cut) {
      ws.close({ code: 1011, reason: "cut by the test" });
      return;
    }
    const upstream = ws.connectToServer();
    ws.onMessage((frame) => {
      if (![...lost].some((text) => String(frame).includes(text))) upstream.send(frame);
    });
    upstream.onMessage((frame) => {
      const text = [...missed].find((part) => String(frame).includes(part));
      if (text === undefined) ws.send(frame);
      else missed.delete(text);
    });
    open.add([ws, upstream]);
  });
  await context.route(/\/socket\.io\//, (route) => (cut ? route.abort() : route.continue()));
  return {
    async cut() {
      cut = true;
      for (const [ws, upstream] of open) {
        await upstream.close();
        await ws.close({ code: 1011, reason: "cut by the test" });
      }
      open.clear();
    },
    restore() { cut = false; },
    lose(text) { lost.add(text); },
    miss(text) { missed.add(text); },
  };
}

/** Register through the page's form and wait until the socket is connected. */
export async function registerInPage(page, serverUrl, nickname) {
  await page.goto(serverUrl);
  const form = page.locator("#register-form");
  await form.locator("[name=nickname]").fill(nickname);
  await form.locator("[name=email]").fill(`${nickname}@example.com`);
  await form.locator("[name=password]").fill(PASSWORD);
  await form.locator("button[type=submit]").click();
  await page.locator("#me", { hasText: nickname }).waitFor();
  await page.locator('#connection[data-state="connected"]').waitFor();
}

/** Type and send a message with the Enter key. */
export async function send(page, text) {
  await page.locator("#message-input").fill(text);
  await page.locator("#message-input").press("Enter");
}

/** The message texts shown, in order. */
export function texts(page) {
  return page.locator("#messages li .text").allTextContents();
}

/** The message element with exactly this text. */
export function message(page, text) {
  return page.locator("#messages li").filter({
    has: page.locator(".text").getByText(text, { exact: true }),
  });
}

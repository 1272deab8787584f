// Starts a real `pipechat serve` child process (SQLite in a temp dir) and registers users.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

async function waitHealthy(url, child, deadlineMs) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`pipechat exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new Error("pipechat did not become healthy");
}

export async function startServer(extraEnv = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "pipechat-js-"));
  const port = await freePort();
  const env = {
    ...process.env,
    PIPECHAT_DATA_DIR: dataDir,
    PIPECHAT_ARGON2_TIME_COST: "1",
    PIPECHAT_ARGON2_MEMORY_KIB: "1024",
    PIPECHAT_LOG_LEVEL: "WARNING",
    ...extraEnv,
  };
  // The embedded SQLite default, whatever the caller's environment points at.
  for (const name of ["PIPECHAT_DATABASE_URL", "PIPECHAT_REDIS_URL", "PIPECHAT_JWT_SECRET"]) {
    delete env[name];
  }
  const child = spawn(join(repo, ".venv", "bin", "pipechat"), ["serve", "--port", String(port)],
    { env, stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child, 30_000);
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once("exit", ok));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function registerUser(url, nickname) {
  const response = await fetch(`${url}/auth/register/email`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nickname, email: `${nickname}@example.com`, password: "correct horse" }),
  });
  if (response.status !== 201) throw new Error(`register: ${response.status} ${await response.text()}`);
  const { accessToken, refreshToken } = await response.json();
  const me = await fetch(`${url}/users/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
  const { id } = await me.json();
  return { id, nickname, accessToken, refreshToken };
}

/** A REST request as `user`: `{status, body}` with the body parsed as JSON. */
export async function rest(url, user, method, path, body) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${user.accessToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

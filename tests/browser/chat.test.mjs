// Two users in two browser contexts chat through the page, against a real server process.

import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import {
  ARTIFACTS, CLIENT_DIST, REPO, launchChromium, message, phoneContext, registerInPage, send,
  startServer, texts,
} from "./support.mjs";

const MAX_LENGTH = 200;
const TOO_LONG = "x".repeat(MAX_LENGTH + 1);
// Each run has its own server and database, so plain names never collide.
const ALICE = "alice";
const BOB = "bob";
const HTML = `<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold?</b>`;

const storedTokens = (page) =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem("pipechat.tokens")));
const expiry = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).exp;

describe("two users chatting in Chromium", () => {
  let server;
  let browser;
  let alice;
  let bob;
  let pageA;
  let pageB;
  let tokenRefreshed;
  let firstSocket; // A's first socket id and its first access token's expiry
  const sent = []; // every message of the conversation, in order

  before(async () => {
    server = await startServer("chat", {
      PIPECHAT_SOCKETIO_CLIENT_DIR: CLIENT_DIST,
      PIPECHAT_MESSAGE_MAX_LENGTH: String(MAX_LENGTH),
      // Short-lived access tokens, so the page must refresh them during the test.
      PIPECHAT_ACCESS_TOKEN_TTL_SECONDS: "15",
    });
    browser = await launchChromium();
    alice = await phoneContext(browser, server.url);
    bob = await phoneContext(browser, server.url);
    pageA = await alice.context.newPage();
    pageB = await bob.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("registers both users; their sockets connect", async () => {
    tokenRefreshed = pageA.waitForResponse(
      (r) => r.url().endsWith("/auth/token/access") && r.status() === 200, { timeout: 90_000 });
    await registerInPage(pageA, server.url, ALICE);
    firstSocket = { id: await pageA.evaluate(() => window.pipechat.socket.id),
                    expiry: expiry((await storedTokens(pageA)).accessToken) };
    await registerInPage(pageB, server.url, BOB);
  });

  /** A new access token of A's session (the page keeps renewing its own). */
  async function freshToken() {
    const response = await fetch(`${server.url}/auth/token/access`, { method: "POST",
      headers: { Authorization: `Bearer ${(await storedTokens(pageA)).refreshToken}` } });
    return (await response.json()).accessToken;
  }

  it("A creates a chat with B by nickname; both open it", async () => {
    await pageA.locator("#new-chat-users").fill(BOB);
    await pageA.locator("#new-chat-form button[type=submit]").click();
    await pageA.locator("#chat-title", { hasText: BOB }).waitFor();
    // B learns of the chat live (chat_created) and opens it.
    await pageB.locator("#chat-list button", { hasText: ALICE }).click();
    await pageB.locator("#chat-title", { hasText: ALICE }).waitFor();
    await pageA.locator('#chat-view[data-synced="true"]').waitFor();
    await pageB.locator('#chat-view[data-synced="true"]').waitFor();
  });

  it("A sends, B sees it live; B replies, A sees it", async () => {
    await send(pageA, "Hello Bob, can you see this?");
    sent.push("Hello Bob, can you see this?");
    await message(pageA, sent[0]).and(pageA.locator('[data-status="sent"]')).waitFor();
    await message(pageB, sent[0]).waitFor();
    assert.equal(await message(pageB, sent[0]).locator(".author").textContent(), ALICE);

    await send(pageB, "Hi Alice! Loud and clear.");
    sent.push("Hi Alice! Loud and clear.");
    await message(pageA, sent[1]).waitFor();
    await message(pageB, sent[1]).and(pageB.locator('[data-status="sent"]')).waitFor();
    assert.deepEqual(await texts(pageA), sent);
    assert.deepEqual(await texts(pageB), sent);
  });

  it("a message with HTML stays text on both sides", async () => {
    await send(pageA, HTML);
    sent.push(HTML);
    await message(pageB, HTML).waitFor();
    await message(pageA, HTML).and(pageA.locator('[data-status="sent"]')).waitFor();
    for (const page of [pageA, pageB]) {
      assert.equal(await page.locator("#messages b, #messages img, #messages script").count(), 0);
      assert.equal(await page.evaluate(() => window.pwned), undefined);
    }
  });

  it("an over-limit message shows the server's error and reaches nobody", async () => {
    await send(pageA, TOO_LONG);
    const failed = message(pageA, TOO_LONG).and(pageA.locator('[data-status="error"]'));
    await failed.waitFor();
    const status = await failed.locator(".status").textContent();
    assert.match(status, /not sent: .*200.*\(code 104\)/);
    assert.equal(await failed.locator("button.retry").count(), 1);
    // Messages arrive in order, so once B has the next one, the long one never came.
    await send(pageA, "Sorry, that one was too long.");
    sent.push("Sorry, that one was too long.");
    await message(pageB, sent.at(-1)).waitFor();
    assert.deepEqual(await texts(pageB), sent);
  });

  it("shows `exception` events from the server", async () => {
    // The page always asks for acks; an emit without one makes the server use `exception`.
    await pageB.evaluate(() => window.pipechat.socket.emit("enter_chat", { chatIds: [999] }));
    const notice = pageB.locator("#notice-text", { hasText: "Server error 100" });
    await notice.waitFor();
    assert.match(await notice.textContent(), /999/);
    await pageB.locator("#notice-close").click();
    await pageB.locator("#notice").waitFor({ state: "hidden" });
  });

  it("takes screenshots of the conversation", async () => {
    const shots = [];
    for (const [name, page] of [["alice", pageA], ["bob", pageB]]) {
      const path = join(ARTIFACTS, `chat-${name}.png`);
      await page.screenshot({ path });
      shots.push((await page.screenshot()).toString("base64"));
    }
    // Both phones side by side, for the README.
    const sheet = await browser.newPage({ viewport: { width: 900, height: 900 } });
    await sheet.setContent(`<body style="margin:0"><div id="sheet" style="display:inline-flex;
      gap:20px;padding:12px;background:#cbd5e1">${shots.map((s) => `<img
      style="border-radius:12px" src="data:image/png;base64,${s}">`).join("")}</div></body>`);
    for (const img of await sheet.locator("img").all()) await img.evaluate((i) => i.decode());
    const conversation = join(ARTIFACTS, "conversation.png");
    await sheet.locator("#sheet").screenshot({ path: conversation });
    await sheet.close();
    if (process.env.PIPECHAT_UPDATE_SCREENSHOT === "1") {
      copyFileSync(conversation, join(REPO, "docs/screenshot-chat.png"));
    }
  });

  it("refreshes the access token before it expires and hands it to its socket", async () => {
    const response = await tokenRefreshed;
    assert.ok((await response.json()).accessToken);
    // Past the first token's expiry the socket is still the first one: `authenticate` renewed
    // it (the server would have disconnected it with 111 otherwise).
    await pageA.waitForTimeout(Math.max(0, firstSocket.expiry * 1000 + 1000 - Date.now()));
    assert.equal(await pageA.evaluate(() => window.pipechat.socket.id), firstSocket.id);
    assert.equal(await pageA.evaluate(() => window.pipechat.socket.connected), true);
  });

  it("a reload restores the session and the chat's history", async () => {
    await pageB.reload();
    await pageB.locator("#me", { hasText: BOB }).waitFor();
    await pageB.locator('#chat-view[data-synced="true"]').waitFor();
    assert.deepEqual(await texts(pageB), sent);
    assert.equal(await pageB.locator('#messages li.mine[data-status="sent"]').count(), 1);
  });

  it("'Load older' pages back through the history", async () => {
    // Fill the chat past one page from a plain Socket.IO client logged in as A.
    const token = await freshToken();
    const chatId = Number(await pageA.evaluate(() => sessionStorage.getItem("pipechat.openChat")));
    const socket = io(`${server.url}/chats`, { auth: { token }, transports: ["websocket"] });
    try {
      for (let n = 1; n <= 35; n += 1) {
        const ack = await socket.timeout(10_000).emitWithAck(
          "send_message", { chatId, message: `bulk ${n}`, clientMessageId: `bulk-${n}` });
        assert.equal(ack.status, "ok");
        sent.push(`bulk ${n}`);
      }
    } finally {
      socket.disconnect();
    }
    await message(pageB, "bulk 35").waitFor();
    await pageB.reload();
    await pageB.locator('#chat-view[data-synced="true"]').waitFor();
    assert.deepEqual(await texts(pageB), sent.slice(-30));
    await pageB.locator("#load-older").click();
    await message(pageB, sent[0]).waitFor();
    assert.deepEqual(await texts(pageB), sent);
    assert.equal(await pageB.locator("#load-older").isHidden(), true);
  });

  it("after a dropped connection B catches up and its queued message goes out", async () => {
    await bob.link.cut();
    await pageB.locator('#connection[data-state="reconnecting"]').waitFor();
    await send(pageA, "Sent while Bob was away");
    sent.push("Sent while Bob was away");
    await message(pageA, sent.at(-1)).and(pageA.locator('[data-status="sent"]')).waitFor();
    await send(pageB, "Queued while offline");
    await message(pageB, "Queued while offline").and(pageB.locator('[data-status="pending"]'))
      .waitFor();
    bob.link.restore();
    await pageB.locator('#connection[data-state="connected"]').waitFor();
    await message(pageB, "Sent while Bob was away").waitFor();
    await message(pageB, "Queued while offline").and(pageB.locator('[data-status="sent"]'))
      .waitFor();
    sent.push("Queued while offline");
    await message(pageA, "Queued while offline").waitFor();
    // A's failed message stays last, with its Retry button, until A deals with it.
    assert.deepEqual(await texts(pageA), [...sent, TOO_LONG]);
    assert.deepEqual(await texts(pageB), sent);
  });

  it("'More chats' follows the list's next link", async () => {
    const token = await freshToken();
    const api = (path, init = {}) => fetch(`${server.url}${path}`, {
      ...init, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    }).then((response) => response.json());
    const bobId = (await api(`/users/by-nickname/${BOB}`)).id;
    const create = () => api("/chats", { method: "POST", body: JSON.stringify({ userIds: [bobId] }) });
    // Whatever the page size: fill the first page, then one chat more for a second page.
    let total = (await api("/chats")).data.length;
    while (!(await api("/chats")).next) {
      await create();
      total += 1;
    }
    await create();
    total += 1;
    await pageB.reload();
    await pageB.locator('#chat-view[data-synced="true"]').waitFor();
    // On a phone the open chat fills the screen; "back" shows the list.
    assert.equal(await pageB.locator("#chat-list").isVisible(), false);
    await pageB.locator("#back").click();
    assert.ok(await pageB.locator("#chat-list").isVisible());
    assert.ok(await pageB.locator("#chat-list li").count() < total);
    await pageB.locator("#more-chats").click();
    await pageB.locator("#chat-list li").nth(total - 1).waitFor();
    while (await pageB.locator("#more-chats").isVisible()) {
      const shown = await pageB.locator("#chat-list li").count();
      await pageB.locator("#more-chats").click();
      await pageB.locator("#chat-list li").nth(shown).waitFor();
    }
    assert.equal(await pageB.locator("#chat-list li").count(), total);
  });

  it("'Log out' revokes the session on the server", async () => {
    const { refreshToken } = await storedTokens(pageA);
    const loggedOut = pageA.waitForResponse((r) => r.url().endsWith("/auth/logout"));
    await pageA.locator("#logout").click();
    assert.equal((await loggedOut).status(), 204);
    await pageA.locator("#auth-view").waitFor();
    const response = await fetch(`${server.url}/auth/token/access`, { method: "POST",
      headers: { Authorization: `Bearer ${refreshToken}` } });
    assert.equal(response.status, 401);
    assert.equal((await response.json()).code, 114);
  });

  it("never loaded anything from outside the server and threw no page errors", () => {
    for (const { report } of [alice, bob]) {
      assert.deepEqual(report.foreignRequests, []);
      assert.deepEqual(report.pageErrors.map(String), []);
    }
  });
});

describe("the default page (pinned CDN client)", () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer("cdn");
    browser = await launchChromium();
  });

  /** A page that cannot reach beyond loopback: this machine has no internet; make it certain. */
  async function offlinePage() {
    const context = await browser.newContext();
    await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
    return context.newPage();
  }

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows the server's message when registering or logging in fails", async () => {
    const page = await offlinePage();
    await page.goto(server.url);
    const register = page.locator("#register-form");
    await register.locator("[name=nickname]").fill("dave");
    await register.locator("[name=email]").fill("dave@example.com");
    await register.locator("[name=password]").fill("correct horse battery");
    await register.locator("button[type=submit]").click();
    await page.locator("#me", { hasText: "dave" }).waitFor();
    await page.locator("#logout").click();
    await register.locator("[name=email]").fill("dave2@example.com");
    await register.locator("button[type=submit]").click();
    await page.locator("#notice-text", { hasText: "nickname: this nickname is already taken" })
      .waitFor();
    const login = page.locator("#login-form");
    await login.locator("[name=email]").fill("dave@example.com");
    await login.locator("[name=password]").fill("not the password");
    await login.locator("button[type=submit]").click();
    await page.locator("#notice-text", { hasText: "the email or password is wrong" }).waitFor();
    assert.equal(await page.locator("#chat-view").isHidden(), true);
    await page.context().close();
  });

  it("says so clearly when the client library cannot be loaded", async () => {
    const page = await offlinePage();
    await page.goto(server.url);
    await page.locator("#register-form [name=nickname]").fill("carol");
    await page.locator("#register-form [name=email]").fill("carol@example.com");
    await page.locator("#register-form [name=password]").fill("correct horse battery");
    await page.locator("#register-form button[type=submit]").click();
    await page.locator("#notice-text", { hasText: "Socket.IO client library did not load" })
      .waitFor();
    assert.equal(await page.locator("#connection").getAttribute("data-state"), "offline");
    await page.screenshot({ path: join(ARTIFACTS, "cdn-unreachable.png") });
    writeFileSync(join(ARTIFACTS, "cdn-page.html"), await page.content());
    await page.context().close();
  });
});

// Two users in two browser contexts chat through the page, against a real server process.

import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import {
  ARTIFACTS, MAX_LENGTH, PASSWORD, REPO, launchChromium, message, offlineContext, phoneContext,
  registerInPage, send, startServer, texts,
} from "./support.mjs";

// Each run has its own server and database, so plain names never collide.
const ALICE = "alice";
const BOB = "bob";
const CAROL = "carol";
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
    // The page as the README's first command serves it: the socket.io client installed with
    // pipechat; every request beyond the server is refused (phoneContext).
    server = await startServer("chat", {
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
    // The client came from this server, installed with pipechat.
    assert.equal(await pageA.locator("script[integrity]").getAttribute("src"),
      "/web/vendor/socket.io.min.js");
  });

  it("tells a new user with no chat what to do; the hint fits a phone", async () => {
    const hint = pageA.locator("#no-chats");
    await hint.waitFor();
    assert.match(await hint.textContent(), /nickname/);
    // The placeholder of the "New chat" box is shown whole at phone width.
    const fits = await pageA.locator("#new-chat-users").evaluate((input) => {
      const style = getComputedStyle(input);
      const context = document.createElement("canvas").getContext("2d");
      context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const room = input.clientWidth - parseFloat(style.paddingLeft) -
        parseFloat(style.paddingRight);
      return context.measureText(input.placeholder).width <= room;
    });
    assert.equal(fits, true);
    const icon = await pageA.evaluate(() =>
      fetch(document.querySelector("link[rel=icon]").href).then((r) => r.status));
    assert.equal(icon, 200);
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
    assert.equal(await pageA.locator("#no-chats").isHidden(), true);
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
    // Today's messages sit under one "Today" separator and show the time alone.
    assert.deepEqual(await pageB.locator("#messages li.day").allTextContents(), ["Today"]);
    assert.match(await message(pageB, sent[0]).locator("time").textContent(), /^\d\d:\d\d/);
  });

  it("times on other days show their date", async () => {
    const labels = await pageA.evaluate(async () => {
      const { dayLabel, timeLabel } = await import("/web/time.js");
      const now = new Date(2026, 2, 10, 12, 0);
      const at = (day, month = 2, year = 2026) => new Date(year, month, day, 9, 5).toISOString();
      return [timeLabel(at(10), now), timeLabel(at(9), now), timeLabel(at(3, 2, 2025), now),
        dayLabel(at(10), now), dayLabel(at(9), now), dayLabel(at(1), now)];
    });
    const [today, yesterday, lastYear, ...days] = labels;
    // The browser's locale decides the order and the clock (09:05 or 09:05 AM).
    assert.match(today, /^09:05( AM)?$/);
    assert.match(yesterday, /^(9 Mar|Mar 9), 09:05/);
    assert.match(lastYear, /2025, 09:05/);
    assert.equal(days[0], "Today");
    assert.equal(days[1], "Yesterday");
    assert.match(days[2], /^(1 Mar|Mar 1)$/);
  });

  it("a message in a chat that is not open marks that chat as new", async () => {
    // A second chat of A and B, made by A; B keeps the first one open.
    const first = Number(await pageB.evaluate(() => sessionStorage.getItem("pipechat.openChat")));
    await pageA.locator("#back").click();
    await pageA.locator("#new-chat-users").fill(BOB);
    await pageA.locator("#new-chat-form button[type=submit]").click();
    const opened = await pageA.waitForFunction((previous) => {
      const id = Number(sessionStorage.getItem("pipechat.openChat"));
      return id !== previous && id;
    }, first);
    const second = await opened.jsonValue();
    await pageA.locator('#chat-view[data-synced="true"]').waitFor();
    const entry = pageB.locator(`#chat-list button[data-chat-id="${second}"]`);
    await entry.waitFor({ state: "attached" });
    assert.equal(await entry.evaluate((b) => b.classList.contains("unread")), false);
    await send(pageA, "Over here, in the other chat");
    await message(pageA, "Over here, in the other chat").and(pageA.locator('[data-status="sent"]'))
      .waitFor();
    await pageB.locator(`#chat-list button.unread[data-chat-id="${second}"]`)
      .waitFor({ state: "attached" });
    assert.deepEqual(await texts(pageB), sent); // the open chat shows nothing of it
    // Opening it clears the mark and shows the message; both go back to the first chat.
    await pageB.locator("#back").click();
    await entry.click();
    await message(pageB, "Over here, in the other chat").waitFor();
    assert.equal(await entry.evaluate((b) => b.classList.contains("unread")), false);
    for (const page of [pageA, pageB]) {
      await page.locator("#back").click();
      await page.locator(`#chat-list button[data-chat-id="${first}"]`).click();
      await page.locator('#chat-view[data-synced="true"]').waitFor();
      assert.deepEqual(await texts(page), sent);
    }
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

  it("the composer refuses a blank message and one past the server's limit", async () => {
    const input = pageA.locator("#message-input");
    const sendButton = pageA.locator("#send-form button[type=submit]");
    const hint = pageA.locator("#composer-hint");
    const shown = await texts(pageA);
    await input.fill("   \n  ");
    assert.equal(await sendButton.isDisabled(), true);
    await input.press("Enter");
    // The countdown starts near the limit (the server's PIPECHAT_MESSAGE_MAX_LENGTH).
    await input.fill("x".repeat(MAX_LENGTH - 30));
    assert.equal(await hint.isHidden(), true);
    await input.fill("é".repeat(MAX_LENGTH - 5)); // characters, not bytes
    assert.equal(await hint.textContent(), "5 characters left");
    assert.equal(await sendButton.isEnabled(), true);
    await input.fill("x".repeat(MAX_LENGTH + 1));
    assert.equal(await hint.textContent(), `1 character too long (at most ${MAX_LENGTH} characters)`);
    assert.equal(await hint.getAttribute("data-state"), "over");
    assert.equal(await sendButton.isDisabled(), true);
    await input.press("Enter");
    // Nothing was sent or shown, and the text is still there to shorten.
    assert.deepEqual(await texts(pageA), shown);
    assert.equal(await input.inputValue(), "x".repeat(MAX_LENGTH + 1));
    await input.press("Backspace");
    assert.equal(await sendButton.isEnabled(), true);
    await input.fill("");
  });

  it("a message that gets no answer fails in place; Discard removes it", async () => {
    const lost = "This one is lost on the way";
    alice.link.lose(lost);
    await send(pageA, lost);
    // The page waits 10 s for an acknowledgement, then offers Retry, Edit and Discard.
    const failed = message(pageA, lost).and(pageA.locator('[data-status="error"]'));
    await failed.waitFor({ timeout: 30_000 });
    assert.match(await failed.locator(".status").textContent(), /not sent: .*no answer/);
    assert.deepEqual(await failed.locator(".actions button").allTextContents(),
      ["Retry", "Edit", "Discard"]);
    await pageA.screenshot({ path: join(ARTIFACTS, "failed-message.png") });
    // Later messages, A's and B's, come after it: the list stays in send order.
    await send(pageA, "And this one arrives");
    sent.push("And this one arrives");
    await message(pageB, sent.at(-1)).waitFor();
    await send(pageB, "Got the second one only");
    sent.push("Got the second one only");
    await message(pageA, sent.at(-1)).waitFor();
    assert.deepEqual(await texts(pageA), [...sent.slice(0, -2), lost, ...sent.slice(-2)]);
    await failed.locator("button.discard").click();
    await failed.waitFor({ state: "detached" });
    assert.deepEqual(await texts(pageA), sent);
    assert.deepEqual(await texts(pageB), sent);
  });

  it("shows `exception` events from the server until a later action succeeds", async () => {
    // The page always asks for acks; an emit without one makes the server use `exception`.
    await pageB.evaluate(() => window.pipechat.socket.emit("enter_chat", { chatIds: [999] }));
    const notice = pageB.locator("#notice-text", { hasText: "Server error 100" });
    await notice.waitFor();
    assert.match(await notice.textContent(), /999/);
    await send(pageB, "Sent after an error");
    sent.push("Sent after an error");
    await message(pageB, sent.at(-1)).and(pageB.locator('[data-status="sent"]')).waitFor();
    await pageB.locator("#notice").waitFor({ state: "hidden" });
    await message(pageA, sent.at(-1)).waitFor();
    // The close button dismisses one too.
    await pageB.evaluate(() => window.pipechat.socket.emit("enter_chat", { chatIds: [998] }));
    await pageB.locator("#notice-text", { hasText: "998" }).waitFor();
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
    // B's own messages from history show as sent.
    const own = await pageB.locator("#messages li.mine").count();
    assert.ok(own > 0);
    assert.equal(await pageB.locator('#messages li.mine[data-status="sent"]').count(), own);
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
    assert.deepEqual(await texts(pageA), sent);
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

  it("after 'Log out', someone else logging in in the same tab sees nothing of it", async () => {
    // B has a chat open with an error shown, a message waiting offline and one typed.
    await pageB.locator("#chat-list button").first().click();
    await pageB.locator('#chat-view[data-synced="true"]').waitFor();
    await pageB.evaluate(() => window.pipechat.socket.emit("enter_chat", { chatIds: [997] }));
    await pageB.locator("#notice-text", { hasText: "997" }).waitFor();
    await bob.link.cut();
    await pageB.locator('#connection[data-state="reconnecting"]').waitFor();
    await send(pageB, "Never sent: Bob logs out first");
    await pageB.locator("#message-input").fill("typed, not sent");
    await pageB.locator("#logout").click();
    await pageB.locator("#auth-view").waitFor();
    bob.link.restore();
    const register = pageB.locator("#register-form");
    await register.locator("[name=nickname]").fill(CAROL);
    await register.locator("[name=email]").fill(`${CAROL}@example.com`);
    await register.locator("[name=password]").fill(PASSWORD);
    await register.locator("button[type=submit]").click();
    await pageB.locator("#me", { hasText: CAROL }).waitFor();
    await pageB.locator('#connection[data-state="connected"]').waitFor();
    await pageB.locator("#no-chats").waitFor();
    await pageB.screenshot({ path: join(ARTIFACTS, "no-chats.png") });
    assert.equal(await pageB.locator("#chat-list li").count(), 0);
    assert.equal(await pageB.locator("#messages li").count(), 0);
    assert.equal(await pageB.locator("#chat-title").textContent(), "Pick a chat");
    assert.equal(await pageB.locator("#send-form").isHidden(), true);
    assert.equal(await pageB.locator("#message-input").inputValue(), "");
    assert.equal(await pageB.locator("#notice").isHidden(), true);
    // Carol chats as herself: a new chat, a message that is sent and acknowledged.
    await pageB.locator("#new-chat-users").fill(BOB);
    await pageB.locator("#new-chat-form button[type=submit]").click();
    await pageB.locator('#chat-view[data-synced="true"]').waitFor();
    assert.deepEqual(await texts(pageB), []);
    await send(pageB, "Hi Bob, Carol here");
    await message(pageB, "Hi Bob, Carol here").and(pageB.locator('[data-status="sent"]'))
      .waitFor();
    assert.deepEqual(await texts(pageB), ["Hi Bob, Carol here"]);
    assert.equal(await pageB.locator("#chat-title").textContent().then((t) => t.includes(BOB)),
      true);
  });

  it("never loaded anything from outside the server and threw no page errors", () => {
    for (const { report } of [alice, bob]) {
      assert.deepEqual(report.foreignRequests, []);
      assert.deepEqual(report.pageErrors.map(String), []);
    }
  });
});

describe("the page and the API docs on a browser without internet", () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer("offline");
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows the server's message when registering or logging in fails", async () => {
    const { context, report } = await offlineContext(browser, server.url);
    const page = await context.newPage();
    await page.goto(server.url);
    const register = page.locator("#register-form");
    await register.locator("[name=nickname]").fill("dave");
    await register.locator("[name=email]").fill("dave@example.com");
    await register.locator("[name=password]").fill(PASSWORD);
    await register.locator("button[type=submit]").click();
    await page.locator("#me", { hasText: "dave" }).waitFor();
    await page.locator('#connection[data-state="connected"]').waitFor();
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
    // A later success clears the error.
    await login.locator("[name=password]").fill(PASSWORD);
    await login.locator("button[type=submit]").click();
    await page.locator("#me", { hasText: "dave" }).waitFor();
    assert.equal(await page.locator("#notice").isHidden(), true);
    await context.close();
    assert.deepEqual(report, { pageErrors: [], foreignRequests: [] });
  });

  it("/docs renders the API from files this server serves", async () => {
    const { context, report } = await offlineContext(browser, server.url);
    const page = await context.newPage();
    await page.goto(`${server.url}/docs`);
    await page.locator(".swagger-ui .info .title", { hasText: "pipechat" }).waitFor();
    // By its exact path: the message routes below it (edits, reactions) match the text too.
    await page.locator('.opblock-summary-path[data-path="/chats/{cid}/messages"]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "docs.png") });
    await context.close();
    assert.deepEqual(report, { pageErrors: [], foreignRequests: [] });
  });
});

// Edits, deletions, reactions and replies in a group of three, in Chromium against a real
// server process: each applied live on every page, HTML in a message, a quote or a reaction
// shown as text, and a page that was offline while the others edited, deleted, reacted and
// replied ending with exactly the server's state after it reconnects (and after a reload).

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ARTIFACTS, launchChromium, message, phoneContext, registerInPage, send, startServer,
} from "./support.mjs";

const HTML = `<img src=x onerror="window.pwned = 1"><b>bold?</b>`;

/** What the page shows of each saved message, in the shape `serverState` gives. */
function pageState(page) {
  return page.locator("#messages li[data-id]").evaluateAll((items) => items.map((item) => {
    const quote = item.querySelector(".quote");
    return {
      id: Number(item.dataset.id),
      text: item.querySelector(".text").textContent,
      deleted: item.querySelector(".text").classList.contains("tombstone"),
      edited: item.querySelector(".edited").textContent === "edited",
      reactions: [...item.querySelectorAll(".reaction")].map((chip) => ({
        emoji: chip.querySelector(".emoji").textContent,
        count: Number(chip.querySelector(".count").textContent),
        me: chip.getAttribute("aria-pressed") === "true",
      })),
      quote: quote && {
        id: Number(quote.dataset.replyTo),
        text: quote.querySelector(".quote-text").textContent,
      },
    };
  }));
}

/** The open chat's history as the server has it for this page's user (GET, newest 100). */
function serverState(page) {
  return page.evaluate(async () => {
    const chatId = sessionStorage.getItem("pipechat.openChat");
    const { accessToken } = JSON.parse(sessionStorage.getItem("pipechat.tokens"));
    const answer = await fetch(`/chats/${chatId}/messages?order__createdAt=ASC&take=100`,
      { headers: { Authorization: `Bearer ${accessToken}` } });
    return (await answer.json()).data.map((m) => ({
      id: m.id,
      text: m.deletedAt ? "message deleted" : m.message,
      deleted: Boolean(m.deletedAt),
      edited: Boolean(m.editedAt) && !m.deletedAt,
      reactions: m.reactions,
      quote: m.replyTo && !m.deletedAt ? {
        id: m.replyTo.id,
        text: m.replyTo.deletedAt ? "message deleted" : m.replyTo.message,
      } : null,
    }));
  });
}

/** Wait until `read()` deep-equals `expected` (10 s at most). */
async function until(read, expected) {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 50));
    value = await read();
  }
  assert.deepEqual(value, expected);
}

/** Wait until the page shows exactly the server's state of the open chat. */
async function matchesServer(page) {
  await until(() => pageState(page), await serverState(page));
}

const chip = (page, text, emoji) => message(page, text).locator(`.reaction[data-emoji="${emoji}"]`);

async function react(page, text, emoji) {
  await message(page, text).locator(".add-reaction").click();
  await message(page, text).locator(`.pick[data-emoji="${emoji}"]`).click();
}

async function edit(page, text, newText) {
  await message(page, text).locator(".edit-message").click();
  await page.locator('#draft[data-kind="edit"]').waitFor();
  await page.locator("#message-input").fill(newText);
  await page.locator("#message-input").press("Enter");
}

async function remove(page, text) {
  const button = message(page, text).locator(".delete");
  await button.click();
  await button.click(); // "Delete?": the second click deletes
}

async function reply(page, text, answer) {
  await message(page, text).locator(".reply").click();
  await page.locator('#draft[data-kind="reply"] .quote-text').getByText(text).waitFor();
  await send(page, answer);
}

describe("edits, deletions, reactions and replies in Chromium", () => {
  let server;
  let browser;
  const users = {};

  before(async () => {
    // A sync lists at most 4 changes per chat: a longer absence is `limited` and the page
    // reads the rest from the chat's change log.
    server = await startServer("conversation", { PIPECHAT_SYNC_CHANGES_MAX: "4" });
    browser = await launchChromium();
    for (const name of ["alice", "bob", "carol"]) {
      const context = await phoneContext(browser, server.url);
      context.context.setDefaultTimeout(15_000);
      users[name] = { ...context, page: await context.context.newPage() };
    }
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const pages = () => Object.values(users).map((user) => user.page);

  it("three users in a group, each with it open", async () => {
    for (const [name, { page }] of Object.entries(users)) {
      await registerInPage(page, server.url, name);
    }
    const alice = users.alice.page;
    await alice.locator("#new-chat-users").fill("bob, carol");
    await alice.locator("#new-chat-name").fill("Plans");
    await alice.locator("#new-chat-form button[type=submit]").click();
    await alice.locator('#chat-view[data-synced="true"]').waitFor();
    for (const page of [users.bob.page, users.carol.page]) {
      await page.locator("#chat-list button", { hasText: "Plans" }).click();
      await page.locator('#chat-view[data-synced="true"]').waitFor();
    }
    await send(alice, "Lunch at noon?");
    await send(users.bob.page, "Sure");
    await send(users.bob.page, HTML);
    for (const page of pages()) await message(page, HTML).waitFor();
  });

  it("only one's own messages offer Edit; Delete also for the group's owner", async () => {
    const [alice, bob] = [users.alice.page, users.bob.page];
    assert.equal(await message(alice, "Lunch at noon?").locator(".edit-message").count(), 1);
    assert.equal(await message(alice, "Sure").locator(".edit-message").count(), 0);
    assert.equal(await message(bob, "Lunch at noon?").locator(".edit-message").count(), 0);
    // Alice owns the group: she may delete Bob's message; Bob may not delete hers.
    assert.equal(await message(alice, "Sure").locator(".delete").isVisible(), true);
    assert.equal(await message(bob, "Lunch at noon?").locator(".delete").isVisible(), false);
    assert.equal(await message(bob, "Sure").locator(".delete").isVisible(), true);
  });

  it("Alice edits her message: everyone sees the new text marked edited", async () => {
    await edit(users.alice.page, "Lunch at noon?", "Lunch at one?");
    for (const page of pages()) {
      await message(page, "Lunch at one?").locator(".edited", { hasText: "edited" }).waitFor();
      assert.equal(await message(page, "Lunch at noon?").count(), 0);
    }
    assert.equal(await users.alice.page.locator("#draft").isVisible(), false);
  });

  it("reactions: picked, counted, toggled by a click on the chip", async () => {
    const { alice, bob, carol } = Object.fromEntries(
      Object.entries(users).map(([name, user]) => [name, user.page]));
    await react(carol, "Lunch at one?", "👍");
    for (const page of pages()) await chip(page, "Lunch at one?", "👍").getByText("1").waitFor();
    assert.equal(await chip(carol, "Lunch at one?", "👍").getAttribute("aria-pressed"), "true");
    assert.equal(await chip(bob, "Lunch at one?", "👍").getAttribute("aria-pressed"), "false");
    await chip(bob, "Lunch at one?", "👍").click(); // Bob adds his
    for (const page of pages()) await chip(page, "Lunch at one?", "👍").getByText("2").waitFor();
    await chip(carol, "Lunch at one?", "👍").click(); // Carol takes hers back
    for (const page of pages()) await chip(page, "Lunch at one?", "👍").getByText("1").waitFor();
    assert.equal(await chip(carol, "Lunch at one?", "👍").getAttribute("aria-pressed"), "false");
    assert.equal(await chip(bob, "Lunch at one?", "👍").getAttribute("aria-pressed"), "true");
    await react(alice, HTML, "🎉");
    for (const page of pages()) await chip(page, HTML, "🎉").getByText("1").waitFor();
    // Only an emoji is a reaction: HTML is refused (code 103) and shows nowhere.
    const refused = await bob.evaluate((text) => new Promise((done) => {
      const messageId = Number(document.querySelector("#messages li[data-id]").dataset.id);
      window.pipechat.socket.emit("add_reaction", { messageId, emoji: text }, done);
    }), "<b>x</b>");
    assert.equal(refused.code, 103);
    for (const page of pages()) await matchesServer(page);
  });

  it("a reply shows its quote; HTML in the message and the quote stays text", async () => {
    const [alice, carol] = [users.alice.page, users.carol.page];
    await reply(carol, HTML, "What is this?");
    for (const page of pages()) {
      const quote = message(page, "What is this?").locator(".quote");
      await quote.locator(".quote-text").getByText(HTML, { exact: true }).waitFor();
      assert.equal(await quote.locator(".quote-author").textContent(), "bob");
      assert.equal(await page.locator("#messages img, #messages b").count(), 0);
      assert.equal(await page.evaluate(() => window.pwned), undefined);
    }
    // Escape (or ×) drops a reply before it is sent.
    await message(alice, "Sure").locator(".reply").click();
    await alice.locator('#draft[data-kind="reply"]').waitFor();
    await alice.locator("#message-input").press("Escape");
    await alice.locator("#draft").waitFor({ state: "hidden" });
    await reply(alice, "Lunch at one?", "Replying to myself");
    await message(carol, "Replying to myself").locator(".quote-text")
      .getByText("Lunch at one?").waitFor();
    assert.equal(await alice.locator("#draft").isVisible(), false);
  });

  it("Bob deletes his message: a tombstone, and the reply's quote becomes one", async () => {
    await remove(users.bob.page, HTML);
    for (const page of pages()) {
      await message(page, "What is this?").locator(".quote .tombstone").waitFor();
      assert.equal(await message(page, HTML).count(), 0);
      assert.equal(await page.locator("#messages .text.tombstone").count(), 1);
      // A tombstone has no reactions and no tools.
      const tombstone = page.locator("#messages li[data-id]").filter({
        has: page.locator(".text.tombstone") });
      assert.equal(await tombstone.locator(".reaction, .tools").count(), 0);
      await matchesServer(page);
    }
  });

  it("an offline page catches up edits, deletions, reactions and replies exactly", async () => {
    const { alice, bob, carol } = Object.fromEntries(
      Object.entries(users).map(([name, user]) => [name, user.page]));
    await users.carol.link.cut();
    await carol.locator('#connection[data-state="reconnecting"]').waitFor();
    await edit(alice, "Lunch at one?", "Lunch at two, sorry");
    await message(bob, "Lunch at two, sorry").waitFor();
    await remove(alice, "Sure"); // the owner deletes Bob's message
    await react(bob, "What is this?", "😮");
    await react(alice, "What is this?", "😮");
    await chip(bob, "Lunch at two, sorry", "👍").click(); // Bob takes his back
    await reply(bob, "What is this?", "A broken image");
    await edit(bob, "A broken image", "A <broken> image");
    await message(alice, "A <broken> image").locator(".edited").getByText("edited").waitFor();
    await chip(alice, "What is this?", "😮").getByText("2").waitFor();
    assert.equal(await message(carol, "Lunch at one?").count(), 1); // still offline
    const synced = carol.waitForResponse((r) => /\/sync\?since=/.test(r.url()) && r.ok());
    const filled = carol.waitForResponse((r) => /\/changes\?after=/.test(r.url()) && r.ok());
    users.carol.link.restore();
    const answer = await (await synced).json();
    // More changes than a sync lists: the rest come from GET /chats/{cid}/changes.
    assert.equal(answer.data.find((entry) => entry.chat?.name === "Plans")?.limited, true);
    await filled;
    await carol.locator('#chat-view[data-synced="true"]').waitFor();
    await message(carol, "Lunch at two, sorry").locator(".edited").getByText("edited").waitFor();
    await message(carol, "Replying to myself").locator(".quote-text")
      .getByText("Lunch at two, sorry").waitFor();
    await chip(carol, "What is this?", "😮").getByText("2").waitFor();
    assert.equal(await chip(carol, "Lunch at two, sorry", "👍").count(), 0);
    for (const page of pages()) await matchesServer(page);
    await carol.screenshot({ path: join(ARTIFACTS, "conversation-carol.png") });
    // A reload reads history afresh: the same state.
    await carol.reload();
    await carol.locator('#chat-view[data-synced="true"]').waitFor();
    await matchesServer(carol);
  });

  it("a short absence (a fresh token): the sync's changes alone bring the page up to date", async () => {
    const { alice, bob, carol } = Object.fromEntries(
      Object.entries(users).map(([name, user]) => [name, user.page]));
    await users.carol.link.cut();
    await carol.locator('#connection[data-state="reconnecting"]').waitFor();
    await react(bob, "Lunch at two, sorry", "❤️");
    await edit(alice, "Replying to myself", "Replying to myself, again");
    await message(bob, "Replying to myself, again").waitFor();
    const synced = carol.waitForResponse((r) => /\/sync\?since=/.test(r.url()) && r.ok());
    const changes = [];
    carol.on("request", (r) => { if (/\/changes\?/.test(r.url())) changes.push(r.url()); });
    users.carol.link.restore();
    const answer = await (await synced).json();
    assert.equal(answer.data.find((entry) => entry.chat?.name === "Plans")?.limited, false);
    await message(carol, "Replying to myself, again").locator(".edited").waitFor();
    await chip(carol, "Lunch at two, sorry", "❤️").getByText("1").waitFor();
    await matchesServer(carol);
    assert.deepEqual(changes, []);
  });

  it("Alice deletes the message Bob replied to while he edits it: his edit ends", async () => {
    const [alice, bob] = [users.alice.page, users.bob.page];
    await message(bob, "A <broken> image").locator(".edit-message").click();
    await bob.locator('#draft[data-kind="edit"]').waitFor();
    await remove(alice, "A <broken> image");
    await bob.locator("#draft").waitFor({ state: "hidden" });
    assert.equal(await bob.locator("#message-input").inputValue(), "");
    for (const page of pages()) await matchesServer(page);
  });

  it("Bob made an admin is offered Delete on Carol's message and deletes it", async () => {
    const [alice, bob, carol] = [users.alice.page, users.bob.page, users.carol.page];
    assert.equal(await message(bob, "What is this?").locator(".delete").isVisible(), false);
    await alice.locator("#members summary").click();
    await alice.locator("#member-list li", { hasText: "bob" }).locator("button.set-role").click();
    await message(bob, "What is this?").locator(".delete").waitFor();
    // Carol, a member, is still offered Delete on her own messages only.
    assert.equal(await message(carol, "Lunch at two, sorry").locator(".delete").isVisible(),
      false);
    await remove(bob, "What is this?");
    for (const page of pages()) {
      await until(() => message(page, "What is this?").count(), 0);
      await matchesServer(page);
    }
  });

  it("never loaded anything from outside the server and threw no page errors", () => {
    for (const { report } of Object.values(users)) {
      assert.deepEqual(report.foreignRequests, []);
      assert.deepEqual(report.pageErrors, []);
    }
  });
});

// A three-user group managed through the page in Chromium, against a real server process:
// names (an HTML one shown as text), kinds, members and roles, rename, add, remove, block,
// unread badges across two tabs of one user, "seen by", the list by activity, and catching
// up through the change log (GET /sync) after a dropped connection.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ARTIFACTS, PASSWORD, launchChromium, message, phoneContext, registerInPage, send, startServer,
} from "./support.mjs";

const HTML_NAME = `Trip <b>plans</b><img src=x onerror="window.pwned = 1">`;

/** The list entry of the chat with exactly this name. */
const entry = (page, name) => page.locator("#chat-list button").filter({
  has: page.locator(".chat-name").getByText(name, { exact: true }),
});
const badge = (page, name) => entry(page, name).locator(".badge");
const names = (page) => page.locator("#chat-list .chat-name").allTextContents();
const member = (page, nickname) => page.locator("#member-list li").filter({
  has: page.locator(".nickname").getByText(nickname, { exact: true }),
});

async function openFromList(page, name) {
  if (await page.locator("#back").isVisible()) await page.locator("#back").click();
  await entry(page, name).click();
  await page.locator('#chat-view[data-synced="true"]').waitFor();
}

async function showMembers(page) {
  if (!(await page.locator("#members").evaluate((d) => d.open))) {
    await page.locator("#members summary").click();
  }
}

/** Wait until `read()` answers `expected` (10 s at most). */
async function until(read, expected) {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 50));
    value = await read();
  }
  assert.equal(value, expected);
}

async function backToList(page) {
  await page.locator("#back").click();
  await page.locator("#chat-list").waitFor();
}

describe("a group of three managed in Chromium", () => {
  let server;
  let browser;
  const users = {};
  let carolTab2;

  before(async () => {
    server = await startServer("groups");
    browser = await launchChromium();
    for (const name of ["alice", "bob", "carol"]) {
      const context = await phoneContext(browser, server.url);
      context.context.setDefaultTimeout(15_000);
      users[name] = { ...context, page: await context.context.newPage(), syncs: 0 };
      // Catch-ups through the change log: after a reconnect, or a seq that skipped one.
      users[name].page.on("request", (request) => {
        if (/\/sync\?since=/.test(request.url())) users[name].syncs += 1;
      });
    }
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("registers three users; Carol logs in in a second tab too", async () => {
    for (const [name, { page }] of Object.entries(users)) {
      await registerInPage(page, server.url, name);
    }
    carolTab2 = await users.carol.context.newPage();
    await carolTab2.goto(server.url);
    const login = carolTab2.locator("#login-form");
    await login.locator("[name=email]").fill("carol@example.com");
    await login.locator("[name=password]").fill(PASSWORD);
    await login.locator("button[type=submit]").click();
    await carolTab2.locator('#connection[data-state="connected"]').waitFor();
    // Every receive_message Carol's first tab gets, to show they stop after her removal.
    await users.carol.page.evaluate(() => {
      window.heard = [];
      window.pipechat.socket.on("receive_message", (m) => window.heard.push(m.chatId));
    });
  });

  it("Alice creates a named group with Bob; its HTML name shows as text", async () => {
    const { page } = users.alice;
    await page.locator("#new-chat-users").fill("bob");
    await page.locator("#new-chat-name").fill(HTML_NAME);
    await page.locator("#new-chat-form button[type=submit]").click();
    await page.locator('#chat-view[data-synced="true"]').waitFor();
    assert.match(await page.locator("#chat-title").textContent(), /^Trip <b>plans<\/b><img/);
    assert.equal(await page.locator("#chat-kind").textContent(), "group");
    const bob = users.bob.page;
    await entry(bob, HTML_NAME).waitFor(); // live: chat_created
    assert.equal(await entry(bob, HTML_NAME).locator(".chat-kind").textContent(), "group");
    for (const p of [page, bob]) {
      assert.equal(await p.locator("#chat-list b, #chat-list img, .chat-header b").count(), 0);
      assert.equal(await p.evaluate(() => window.pwned), undefined);
    }
  });

  it("members are listed with roles; only the owner is offered add, rename, remove", async () => {
    const alice = users.alice.page;
    await showMembers(alice);
    assert.equal(await member(alice, "alice").locator(".role").textContent(), "owner");
    assert.equal(await member(alice, "bob").locator(".role").textContent(), "member");
    assert.equal(await member(alice, "bob").locator("button.remove").count(), 1);
    assert.equal(await alice.locator("#add-member-form").isVisible(), true);
    const bob = users.bob.page;
    await openFromList(bob, HTML_NAME);
    await showMembers(bob);
    assert.equal(await bob.locator("#member-list button.remove").count(), 0);
    assert.equal(await bob.locator("#add-member-form").isHidden(), true);
    assert.equal(await bob.locator("#rename-form").isHidden(), true);
    assert.equal(await member(bob, "alice").locator("button.block").count(), 1);
    await backToList(bob);
  });

  it("Alice renames the group; Bob's list follows live", async () => {
    const alice = users.alice.page;
    await alice.locator("#rename-form input").fill("Weekend trip");
    await alice.locator("#rename-form button[type=submit]").click();
    await alice.locator("#chat-title", { hasText: "Weekend trip" }).waitFor();
    await entry(users.bob.page, "Weekend trip").waitFor();
  });

  it("Alice adds Carol: both of Carol's tabs list the group", async () => {
    const alice = users.alice.page;
    await alice.locator("#add-member-users").fill("carol");
    await alice.locator("#add-member-form button[type=submit]").click();
    await member(alice, "carol").waitFor();
    assert.equal(await alice.locator("#member-count").textContent(), "3");
    for (const page of [users.carol.page, carolTab2]) await entry(page, "Weekend trip").waitFor();
  });

  it("unread badges rise in both of Carol's tabs and clear in both when one reads", async () => {
    const alice = users.alice.page;
    await send(alice, "Who brings the tent?");
    await message(alice, "Who brings the tent?").and(alice.locator('[data-status="sent"]'))
      .waitFor();
    await send(alice, "And the stove?");
    await message(alice, "And the stove?").and(alice.locator('[data-status="sent"]')).waitFor();
    for (const page of [users.carol.page, carolTab2, users.bob.page]) {
      await badge(page, "Weekend trip").getByText("2", { exact: true }).waitFor();
    }
    await users.carol.page.screenshot({ path: join(ARTIFACTS, "group-unread.png") });
    await openFromList(carolTab2, "Weekend trip");
    await message(carolTab2, "And the stove?").waitFor();
    // The second tab read it: the first one's badge clears too (`read` to her own sockets).
    await until(() => badge(users.carol.page, "Weekend trip").textContent(), "");
    assert.equal(await badge(carolTab2, "Weekend trip").textContent(), "");
    assert.equal(await badge(users.bob.page, "Weekend trip").textContent(), "2");
    // Alice sees who has read her last message.
    await alice.locator("#messages .seen", { hasText: "Seen by carol" }).waitFor();
    assert.equal(await message(alice, "And the stove?").locator(".seen").count(), 1);
    await openFromList(users.bob.page, "Weekend trip");
    await alice.locator("#messages .seen", { hasText: /Seen by (bob, carol|carol, bob)/ })
      .waitFor();
    await alice.screenshot({ path: join(ARTIFACTS, "group-alice.png") });
    await until(() => badge(users.bob.page, "Weekend trip").textContent(), "");
  });

  it("Carol blocks Alice from the member list", async () => {
    await showMembers(carolTab2);
    await member(carolTab2, "alice").locator("button.block").click();
    await carolTab2.locator("#member-note", { hasText: "You blocked alice" }).waitFor();
    const blocks = await carolTab2.evaluate(async () => {
      const { accessToken } = JSON.parse(sessionStorage.getItem("pipechat.tokens"));
      const response = await fetch("/users/me/blocks",
        { headers: { Authorization: `Bearer ${accessToken}` } });
      return (await response.json()).data.map((block) => block.nickname);
    });
    assert.deepEqual(blocks, ["alice"]);
  });

  it("Alice removes Carol: her pages say so and stop receiving the chat", async () => {
    const alice = users.alice.page;
    await member(alice, "carol").locator("button.remove").click();
    await member(alice, "carol").waitFor({ state: "detached" });
    for (const page of [users.carol.page, carolTab2]) {
      await entry(page, "Weekend trip").waitFor({ state: "detached" });
    }
    await carolTab2.locator("#notice-text", {
      hasText: "You were removed from “Weekend trip” by alice." }).waitFor();
    assert.equal(await carolTab2.locator("#chat-title").textContent(), "Pick a chat");
    const heardBefore = await users.carol.page.evaluate(() => window.heard.length);
    await send(alice, "Carol is out");
    await message(users.bob.page, "Carol is out").waitFor();
    await users.carol.page.waitForTimeout(300);
    assert.equal(await users.carol.page.evaluate(() => window.heard.length), heardBefore);
    assert.equal(await entry(users.carol.page, "Weekend trip").count(), 0);
    // Carol blocked Alice: adding her back is refused, with the server's code and words.
    await alice.locator("#add-member-users").fill("carol");
    await alice.locator("#add-member-form button[type=submit]").click();
    await alice.locator("#notice-text", { hasText: "cannot add this user (code 143)" }).waitFor();
    await alice.locator("#notice-close").click();
  });

  it("the list is in the server's order by activity, newest first", async () => {
    const bob = users.bob.page;
    await backToList(bob);
    // A direct chat with Carol is newer; creating it again gives the same chat.
    for (let i = 0; i < 2; i += 1) {
      await bob.locator("#new-chat-users").fill("carol");
      await bob.locator("#new-chat-kind").selectOption("direct");
      await bob.locator("#new-chat-form button[type=submit]").click();
      await bob.locator("#chat-title", { hasText: "carol" }).waitFor();
      await bob.locator('#chat-view[data-synced="true"]').waitFor();
      await backToList(bob);
    }
    assert.equal(await bob.locator("#chat-list li").count(), 2);
    assert.deepEqual(await names(bob), ["carol", "Weekend trip"]);
    assert.equal(await entry(bob, "carol").locator(".chat-kind").textContent(), "direct");
    await send(users.alice.page, "Bump");
    await badge(bob, "Weekend trip").getByText("1", { exact: true }).waitFor();
    assert.deepEqual(await names(bob), ["Weekend trip", "carol"]);
    await bob.reload();
    await bob.locator('#chat-view[data-synced="true"]').waitFor();
    await backToList(bob);
    assert.deepEqual(await names(bob), ["Weekend trip", "carol"]);
  });

  it("after a dropped connection Bob catches up through the change log", async () => {
    const bob = users.bob.page;
    const alice = users.alice.page;
    await users.bob.link.cut();
    await bob.locator('#connection[data-state="reconnecting"]').waitFor();
    // While Bob is away: a rename, a message, and a new group with him in it.
    await alice.locator("#rename-form input").fill("Trip v2");
    await alice.locator("#rename-form button[type=submit]").click();
    await alice.locator("#chat-title", { hasText: "Trip v2" }).waitFor();
    await send(alice, "Missed this?");
    await message(alice, "Missed this?").and(alice.locator('[data-status="sent"]')).waitFor();
    await backToList(alice);
    await alice.locator("#new-chat-users").fill("bob");
    await alice.locator("#new-chat-name").fill("Made while Bob was away");
    await alice.locator("#new-chat-form button[type=submit]").click();
    await alice.locator('#chat-view[data-synced="true"]').waitFor();
    const synced = bob.waitForResponse((r) => /\/sync\?since=/.test(r.url()) && r.ok());
    users.bob.link.restore();
    await synced;
    await entry(bob, "Made while Bob was away").waitFor();
    await badge(bob, "Trip v2").getByText("2", { exact: true }).waitFor();
    assert.deepEqual(await names(bob), ["Made while Bob was away", "Trip v2", "carol"]);
    await openFromList(bob, "Trip v2");
    await message(bob, "Missed this?").waitFor();
    await bob.screenshot({ path: join(ARTIFACTS, "group-bob.png") });
  });

  it("a lost event shows as a gap in seq; the change log fills it", async () => {
    const bob = users.bob.page;
    const alice = users.alice.page;
    await backToList(bob);
    const syncsBefore = users.bob.syncs;
    users.bob.link.miss('"chat_updated"');
    await openFromList(alice, "Trip v2");
    await alice.locator("#rename-form input").fill("Trip v3");
    await alice.locator("#rename-form button[type=submit]").click();
    await alice.locator("#chat-title", { hasText: "Trip v3" }).waitFor();
    await send(alice, "Renamed, did you notice?");
    // Bob never got chat_updated; the message's seq is two past his: he syncs.
    await entry(bob, "Trip v3").waitFor();
    assert.equal(users.bob.syncs, syncsBefore + 1);
  });

  it("changes the page does not show (an edit) still count in seq: no false gap", async () => {
    const bob = users.bob.page;
    const alice = users.alice.page;
    const syncsBefore = users.bob.syncs;
    const chatId = Number(await alice.evaluate(() => sessionStorage.getItem("pipechat.openChat")));
    const edited = await alice.evaluate(async (cid) => {
      const { accessToken } = JSON.parse(sessionStorage.getItem("pipechat.tokens"));
      const headers = { Authorization: `Bearer ${accessToken}`,
                        "Content-Type": "application/json" };
      const page = await (await fetch(`/chats/${cid}/messages?order__createdAt=DESC&take=1`,
        { headers })).json();
      const response = await fetch(`/chats/${cid}/messages/${page.data[0].id}`,
        { method: "PATCH", headers, body: JSON.stringify({ message: "Renamed, see?" }) });
      return response.status;
    }, chatId);
    assert.equal(edited, 200);
    await send(alice, "After the edit");
    await badge(bob, "Trip v3").getByText("2", { exact: true }).waitFor();
    assert.equal(users.bob.syncs, syncsBefore);
  });

  it("Alice makes Bob an admin: his page offers him add and rename", async () => {
    const alice = users.alice.page;
    await showMembers(alice);
    await member(alice, "bob").locator("button.set-role", { hasText: "Make admin" }).click();
    await member(alice, "bob").locator(".role", { hasText: "admin" }).waitFor();
    const bob = users.bob.page;
    await openFromList(bob, "Trip v3");
    await showMembers(bob);
    await member(bob, "bob").locator(".role", { hasText: "admin" }).waitFor(); // live
    assert.equal(await bob.locator("#add-member-form").isVisible(), true);
    assert.equal(await bob.locator("#rename-form").isVisible(), true);
    // An admin may not remove the owner: no button for it.
    assert.equal(await member(bob, "alice").locator("button.remove").count(), 0);
  });

  it("Bob leaves the group; Alice's member list drops him", async () => {
    const bob = users.bob.page;
    await showMembers(bob);
    await bob.locator("#leave-chat").click();
    await entry(bob, "Trip v3").waitFor({ state: "detached" });
    assert.equal(await bob.locator("#chat-title").textContent(), "Pick a chat");
    const alice = users.alice.page;
    await openFromList(alice, "Trip v3");
    await showMembers(alice);
    assert.equal(await member(alice, "bob").count(), 0);
    assert.equal(await alice.locator("#member-count").textContent(), "1");
  });

  it("Bob hides his direct chat with Carol; her next message brings it back", async () => {
    const bob = users.bob.page;
    await openFromList(bob, "carol");
    await showMembers(bob);
    assert.equal(await bob.locator("#leave-chat").textContent(), "Hide chat");
    await bob.locator("#leave-chat").click();
    await entry(bob, "carol").waitFor({ state: "detached" });
    await openFromList(carolTab2, "bob");
    await send(carolTab2, "Still there?");
    await badge(bob, "carol").getByText("1", { exact: true }).waitFor();
    assert.deepEqual(await names(bob), ["carol", "Made while Bob was away"]);
  });

  it("caught up through the change log only when something was missed", () => {
    // Alice saw every change live, each event one seq after the last (her own included):
    // no catch-up. Bob's reconnect needed one.
    assert.equal(users.alice.syncs, 0);
    assert.ok(users.bob.syncs >= 1);
  });

  it("never loaded anything from outside the server and threw no page errors", () => {
    for (const { report } of Object.values(users)) {
      assert.deepEqual(report.foreignRequests, []);
      assert.deepEqual(report.pageErrors.map(String), []);
    }
  });
});

// Typing and presence in Chromium against a real server process: "bob is typing…" on the
// others' pages while he types (gone when he sends, empties the box, or stops for the
// server's timeout), and online dots with "last seen" in the member list, live and after a
// dropped connection.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ARTIFACTS, launchChromium, message, phoneContext, registerInPage, send, startServer,
} from "./support.mjs";

const member = (page, nickname) => page.locator("#member-list li").filter({
  has: page.locator(".nickname").getByText(nickname, { exact: true }),
});

async function showMembers(page) {
  if (!(await page.locator("#members").evaluate((d) => d.open))) {
    await page.locator("#members summary").click();
  }
}

describe("typing and presence in Chromium", () => {
  let server;
  let browser;
  const users = {};
  const carolTypes = async () => {
    await users.carol.page.locator("#message-input").pressSequentially("on my way");
    await users.alice.page.locator("#typing", { hasText: "carol is typing…" }).waitFor();
  };

  before(async () => {
    // Short timeouts so the test need not wait for the defaults (6 s typing, 5 s grace).
    server = await startServer("presence", {
      PIPECHAT_TYPING_TIMEOUT_SECONDS: "2", PIPECHAT_PRESENCE_GRACE_SECONDS: "1",
    });
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

  it("three users in a group, each with it open", async () => {
    for (const [name, { page }] of Object.entries(users)) {
      await registerInPage(page, server.url, name);
    }
    const alice = users.alice.page;
    await alice.locator("#new-chat-users").fill("bob, carol");
    await alice.locator("#new-chat-name").fill("Live");
    await alice.locator("#new-chat-form button[type=submit]").click();
    await alice.locator('#chat-view[data-synced="true"]').waitFor();
    for (const page of [users.bob.page, users.carol.page]) {
      await page.locator("#chat-list button", { hasText: "Live" }).click();
      await page.locator('#chat-view[data-synced="true"]').waitFor();
    }
  });

  it("Bob types: the others see it; sending ends it", async () => {
    const { alice, bob, carol } = Object.fromEntries(
      Object.entries(users).map(([name, user]) => [name, user.page]));
    await bob.locator("#message-input").pressSequentially("hello th");
    for (const page of [alice, carol]) {
      await page.locator("#typing", { hasText: "bob is typing…" }).waitFor();
    }
    assert.equal(await bob.locator("#typing").isVisible(), false); // not to himself
    await bob.locator("#message-input").pressSequentially("ere");
    await bob.locator("#message-input").press("Enter");
    for (const page of [alice, carol]) {
      await message(page, "hello there").waitFor();
      await page.locator("#typing").waitFor({ state: "hidden" });
    }
  });

  it("two typing at once; emptying the box ends it", async () => {
    const { alice, bob, carol } = Object.fromEntries(
      Object.entries(users).map(([name, user]) => [name, user.page]));
    await bob.locator("#message-input").pressSequentially("so");
    await carol.locator("#message-input").pressSequentially("we");
    await alice.locator("#typing", { hasText: /^(bob and carol|carol and bob) are typing…$/ })
      .waitFor();
    await carol.locator("#message-input").fill("");
    await alice.locator("#typing", { hasText: /^bob is typing…$/ }).waitFor();
    await bob.locator("#message-input").fill("");
    await alice.locator("#typing").waitFor({ state: "hidden" });
  });

  it("typing that stops without a word goes away after the server's timeout", async () => {
    const [alice, bob] = [users.alice.page, users.bob.page];
    await bob.locator("#message-input").pressSequentially("hmm");
    await alice.locator("#typing", { hasText: "bob is typing…" }).waitFor();
    const started = Date.now();
    await alice.locator("#typing").waitFor({ state: "hidden" });
    assert.ok(Date.now() - started >= 1000); // not before the 2 s timeout (less the lag)
    await bob.locator("#message-input").fill("");
  });

  it("members show online dots; one who goes shows 'last seen', back online on return",
    async () => {
      const [alice, bob] = [users.alice.page, users.bob.page];
      await showMembers(alice);
      await member(alice, "bob").locator('.dot[data-online="true"]').waitFor();
      assert.equal(await member(alice, "bob").locator(".last-seen").textContent(), "online");
      assert.equal(await member(alice, "alice").locator(".last-seen").count(), 0);
      await users.bob.link.cut();
      await member(alice, "bob").locator('.dot[data-online="false"]').waitFor();
      assert.match(await member(alice, "bob").locator(".last-seen").textContent(),
        /^last seen \S/);
      await carolTypes();
      await alice.screenshot({ path: join(ARTIFACTS, "presence-alice.png") });
      users.bob.link.restore();
      await bob.locator('#connection[data-state="connected"]').waitFor();
      await member(alice, "bob").locator('.dot[data-online="true"]').waitFor();
    });

  it("a page that was offline shows presence as it is after it reconnects", async () => {
    const [alice, carol] = [users.alice.page, users.carol.page];
    await users.alice.link.cut();
    await alice.locator('#connection[data-state="reconnecting"]').waitFor();
    await carol.close(); // Carol goes while Alice cannot hear it
    await new Promise((done) => setTimeout(done, 2500)); // past the 1 s grace
    assert.equal(await member(alice, "carol").locator(".dot").getAttribute("data-online"),
      "true");
    users.alice.link.restore();
    await member(alice, "carol").locator('.dot[data-online="false"]').waitFor();
    assert.match(await member(alice, "carol").locator(".last-seen").textContent(),
      /^last seen \S/);
  });

  it("never loaded anything from outside the server and threw no page errors", () => {
    for (const { report } of Object.values(users)) {
      assert.deepEqual(report.foreignRequests, []);
      assert.deepEqual(report.pageErrors, []);
    }
  });
});

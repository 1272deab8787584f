// The open chat's management actions, over REST: add members, rename, remove a member, change
// a member's role, leave, block someone. The server checks every one (roles, blocks, limits); a refusal is shown with
// its code and message, and what did change arrives as events like everyone else's.

import { resolveUsers } from "./chats.js";
import { MemberPanel } from "./members.js";

const $ = (id) => document.getElementById(id);

/**
 * `view`: {session, openId(), myId(), changed(chat), gone(chatId, text), report(error),
 * done(), submit(form, action)} (`submit` is app.js's form handler: busy button, errors).
 */
export function manageChats(view) {
  const { session } = view;
  const note = (text) => { $("member-note").textContent = text; };
  const run = (work) => work().then(view.done, view.report);
  const panel = new MemberPanel({
    panel: $("members"), list: $("member-list"), count: $("member-count"),
    addForm: $("add-member-form"), renameForm: $("rename-form"), leave: $("leave-chat"),
  }, {
    onRemove: (userId) => run(async () => {
      await session.request("DELETE", `/chats/${view.openId()}/members/${userId}`);
    }),
    onRole: (userId, role) => run(async () => {
      const path = `/chats/${view.openId()}/members/${userId}`;
      view.changed(await session.request("PATCH", path, { role }));
    }),
    onBlock: (user) => run(async () => {
      await session.request("POST", "/users/me/blocks", { userId: user.id });
      note(`You blocked ${user.nickname}: they cannot start a chat with you or add you to one.`);
    }),
    onLeave: () => run(async () => {
      const chatId = view.openId();
      await session.request("DELETE", `/chats/${chatId}/members/${view.myId()}`);
      view.gone(chatId, null);
    }),
  });
  view.submit($("add-member-form"), async () => {
    const input = $("add-member-users");
    const userIds = await resolveUsers(session, input.value);
    view.changed(await session.request("POST", `/chats/${view.openId()}/members`, { userIds }));
    input.value = "";
  });
  view.submit($("rename-form"), async (data) => {
    const name = data.get("name");
    view.changed(await session.request("PATCH", `/chats/${view.openId()}`, { name }));
  });
  return {
    show(chat) {
      if (!chat || chat.id !== panel.chat?.id) note("");
      panel.show(chat, view.myId());
    },
  };
}

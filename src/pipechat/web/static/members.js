// The open chat's members with their roles, and what the user's role lets them do: add,
// remove (members of a lower role), rename, change roles (the owner), leave, block someone. The server decides; the
// page only leaves out what it would refuse, and shows its error when it refuses anyway.

import { timeLabel } from "./time.js";

const RANK = { owner: 3, admin: 2, member: 1 };

function part(tag, className, text) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = text;
  return element;
}

function action(text, className, onClick) {
  const button = part("button", className, text);
  button.type = "button";
  button.addEventListener("click", onClick);
  return button;
}

export class MemberPanel {
  /**
   * `elements`: {panel, list, count, addForm, renameForm, leave} (app.js handles the two
   * forms); `actions`: {onRemove(userId), onRole(userId, role), onBlock(user), onLeave()}.
   */
  constructor(elements, actions) {
    this.el = elements;
    this.actions = actions;
    this.chat = null;
    this.myId = null;
    elements.leave.addEventListener("click", () => actions.onLeave());
  }

  /** The chat to show (null: none open). */
  show(chat, myId) {
    this.chat = chat;
    this.myId = myId;
    const { panel, list, count, addForm, renameForm, leave } = this.el;
    list.replaceChildren();
    if (!chat) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    const group = chat.kind === "group";
    const myRole = chat.users.find((user) => user.id === myId)?.chatRole ?? null;
    const manages = group && RANK[myRole] >= RANK.admin;
    count.textContent = String(chat.users.length);
    for (const user of chat.users) list.append(this.row(user, group, myRole));
    addForm.hidden = !manages;
    renameForm.hidden = !manages;
    // The box shows the name, unless the user is changing it.
    const box = renameForm.elements.name;
    if (`${chat.id}:${chat.name}` !== this.named || !box.value) box.value = chat.name ?? "";
    this.named = `${chat.id}:${chat.name}`;
    leave.textContent = group ? "Leave chat" : "Hide chat";
  }

  row(user, group, myRole) {
    const item = document.createElement("li");
    item.dataset.userId = user.id;
    // Presence (online, lastSeenAt) comes with the members; `presence` events keep it current.
    if (user.online !== undefined) {
      const dot = part("span", "dot", "");
      dot.dataset.online = String(Boolean(user.online));
      dot.title = user.online ? "online" : "offline";
      item.append(dot);
    }
    item.append(part("span", "nickname", user.nickname));
    if (user.id === this.myId) item.append(part("span", "you", "(you)"));
    if (group && user.chatRole) item.append(part("span", "role", user.chatRole));
    if (user.id !== this.myId && user.online !== undefined) {
      item.append(part("span", "last-seen", user.online ? "online"
        : user.lastSeenAt ? `last seen ${timeLabel(user.lastSeenAt)}` : "never seen"));
    }
    if (user.id === this.myId) return item;
    if (group && RANK[myRole] > RANK[user.chatRole]) {
      item.append(action("Remove", "remove", () => this.actions.onRemove(user.id)));
    }
    if (group && myRole === "owner") {
      const role = user.chatRole === "admin" ? "member" : "admin";
      item.append(action(`Make ${role}`, "set-role", () => this.actions.onRole(user.id, role)));
    }
    item.append(action("Block", "block", () => this.actions.onBlock(user)));
    return item;
  }
}

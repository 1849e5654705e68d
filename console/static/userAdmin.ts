// User administration for admins: list, add, reset a password, delete. The detector enforces the role; the page only
// shows the link to admins.
import { callApi, errorMessage, type ApiResult, type Session } from "./apiClient.ts";
import { byId, field, h, showError, type Elem } from "./dom.ts";
import { formatTime } from "./format.ts";

interface UserItem {
  username: string;
  role: string;
  locked: boolean;
  createdAt: string;
}

export interface UserAdminHandlers {
  session(): Session | undefined;
  unauthorized(): void;
  /** Whether the users view is still the view routed to last. */
  current(): boolean;
}

let handlers: UserAdminHandlers | undefined;

function say(message: string): void {
  showError(byId("users-error"), "");
  byId("users-notice").textContent = message;
}

function fail(message: string): void {
  byId("users-notice").textContent = "";
  showError(byId("users-error"), message);
}

function row(u: UserItem, self: string, onDelete: (username: string) => void): Elem {
  const remove = h("button", { type: "button", class: "delete-user", "data-username": u.username }, "Delete");
  remove.addEventListener("click", () => onDelete(u.username));
  return h("tr", { "data-username": u.username },
    h("td", {}, u.username),
    h("td", {}, u.role),
    h("td", {}, u.locked ? "locked" : ""),
    h("td", {}, formatTime(u.createdAt)),
    // One's own account is not deleted here (the detector refuses it too).
    h("td", {}, u.username === self ? "(you)" : remove));
}

/** Shows the users of the admin's tenant. */
export async function showUsers(routed: UserAdminHandlers): Promise<void> {
  handlers = routed;
  say("");
  byId("new-user-tenant").hidden = routed.session()?.tenant !== "default";
  await load();
}

async function load(): Promise<void> {
  const routed = handlers;
  const session = routed?.session();
  if (!routed || !session) return routed?.unauthorized();
  const result = await callApi<{ items: UserItem[] }>("/api/v1/users", { token: session.token });
  if (!routed.current()) return;
  if (result.status === 401) return routed.unauthorized();
  if (result.status !== 200) {
    byId("user-rows").replaceChildren();
    return fail(errorMessage(result));
  }
  byId("user-rows").replaceChildren(...result.body.items.map((u) => row(u, session.username, (username) => void remove(username))));
}

/** Sends one change, then shows its outcome and the list as it is now (unless the user has since left, or logged out). */
async function act(request: () => Promise<ApiResult<unknown>>, done: string): Promise<boolean> {
  const routed = handlers;
  const result = await request();
  if (handlers !== routed || !routed?.current()) return result.status < 300;
  if (result.status === 401) {
    routed.unauthorized();
    return false;
  }
  if (result.status >= 300) {
    fail(errorMessage(result));
    return false;
  }
  await load();
  if (handlers === routed && routed.current()) say(done);
  return true;
}

/** Forgets the users shown and what was typed (a logout), so the next user of the page sees none of it. */
export function resetUserAdmin(): void {
  handlers = undefined;
  byId("user-rows").replaceChildren();
  say("");
  byId("new-user-tenant").hidden = true;
  for (const [form, names] of [["new-user-form", ["username", "password", "tenant"]], ["reset-form", ["username", "password"]]] as const) {
    for (const name of names) field(byId(form), name).value = "";
  }
}

async function remove(username: string): Promise<void> {
  const token = handlers?.session()?.token;
  if (!token) return handlers?.unauthorized();
  await act(() => callApi(`/api/v1/users/${encodeURIComponent(username)}`, { method: "DELETE", token }), `Deleted ${username}; their sessions are over.`);
}

/**
 * Wires a form whose submit sends one change with the caller's token (`send` gives the request and what to say when it
 * is done); its password is cleared afterwards, and its username too once the change is made.
 */
function onSubmit(formId: string, send: (form: Elem, username: string, password: string, token: string) => [() => Promise<ApiResult<unknown>>, string]): void {
  const form = byId(formId);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const token = handlers?.session()?.token;
    if (!token) return handlers?.unauthorized();
    const username = field(form, "username").value.trim();
    const password = field(form, "password");
    const [request, done] = send(form, username, password.value, token);
    void act(request, done).then((ok) => {
      password.value = "";
      if (ok) field(form, "username").value = "";
    });
  });
}

/** Wires the forms once. */
export function setUpUserAdmin(): void {
  onSubmit("new-user-form", (form, username, password, token) => {
    // Left empty (or hidden: not an admin of tenant default), the user joins the admin's own tenant and its list.
    const own = handlers?.session()?.tenant;
    const tenant = byId("new-user-tenant").hidden ? "" : field(form, "tenant").value.trim();
    const elsewhere = tenant !== "" && tenant !== own;
    return [
      () => callApi("/api/v1/users", { method: "POST", token, body: { username, password, role: field(form, "role").value, ...(elsewhere ? { tenant } : {}) } }),
      elsewhere ? `Added ${username} to tenant ${tenant}.` : `Added ${username}.`,
    ];
  });
  onSubmit("reset-form", (_form, username, password, token) => [
    () => callApi(`/api/v1/users/${encodeURIComponent(username)}/password`, { method: "PUT", token, body: { password } }),
    `Reset the password of ${username}; their sessions are over.`,
  ]);
}

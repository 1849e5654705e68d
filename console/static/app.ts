// The console's entry module: session, login and logout, and hash routing between the list and one incident.
import type { Role } from "../../detector/auth/user.ts";
import { accountRefusal, callApi, clearSession, errorMessage, loadSession, saveSession } from "./apiClient.ts";
import { browserWindow, byId, field, showError } from "./dom.ts";
import { resetIncidentDetail, showIncidentDetail } from "./incidentDetail.ts";
import { refreshIncidentList, resetIncidentList, setUpIncidentList, showIncidentList } from "./incidentList.ts";
import { resetPasswordChange, setUpPasswordChange, showPasswordChange } from "./passwordChange.ts";
import { resetUserAdmin, setUpUserAdmin, showUsers } from "./userAdmin.ts";

const views = ["login-view", "list-view", "detail-view", "password-view", "users-view"] as const;
const defaultListHash = "#/incidents";
let lastListHash = defaultListHash;
/** How long Log out waits for the detector to end the user's sessions before signing out here anyway. */
const logoutTimeoutMs = 5000;
/** While the list is shown it reloads this often, so new incidents and status changes appear without a reload. */
const listRefreshMs = 30_000;

function showView(view: (typeof views)[number]): void {
  for (const v of views) byId(v).hidden = v !== view;
  byId("topbar").hidden = view === "login-view";
}

function navigate(hash: string): void {
  // Setting the same hash fires no hashchange: render directly then.
  if (browserWindow.location.hash === hash) void route();
  else browserWindow.location.hash = hash;
}

/**
 * Forgets the signed-out user: their session, what the page shows of theirs (hidden views keep their content), where
 * their list was, and any answer still on its way to them (routing again makes it stale).
 */
function forgetUser(): void {
  clearSession();
  routes++;
  lastListHash = defaultListHash;
  byId("whoami").textContent = "";
  byId("users-link").hidden = true;
  resetIncidentList();
  resetIncidentDetail();
  resetUserAdmin();
  resetPasswordChange();
}

/** Shows the login form; a message replaces the one shown, none keeps it (a logout notice survives the route change). */
function toLogin(message?: string): void {
  forgetUser();
  showView("login-view");
  if (message !== undefined) showError(byId("login-error"), message);
  field(byId("login-form"), "username").focus();
}

const unauthorized = () => toLogin("Your session has expired or was refused; sign in again.");

/** How many times the view was routed: a view renders an answer only while its routing is the latest, since answers
 * to requests made for earlier routes (clear the filters, then filter again at once) can arrive after later ones. */
let routes = 0;

async function route(): Promise<void> {
  const routed = ++routes;
  const current = () => routed === routes;
  const session = loadSession();
  if (!session) return toLogin();
  byId("whoami").textContent = `${session.username} (${session.role}, tenant ${session.tenant})`;
  byId("users-link").hidden = session.role !== "admin";
  const hash = browserWindow.location.hash || defaultListHash;
  if (hash === "#/password") {
    showView("password-view");
    return showPasswordChange();
  }
  if (hash === "#/users") {
    showView("users-view");
    return showUsers({ session: loadSession, unauthorized, current });
  }
  const detail = /^#\/incident\/([^/?]+)$/.exec(hash);
  if (detail?.[1]) {
    byId("back-to-list").setAttribute("href", lastListHash);
    showView("detail-view");
    let id = detail[1];
    try {
      id = decodeURIComponent(id);
    } catch {
      // A malformed link (%E0%A4%A): asked for as it is, it is not found, rather than leaving the last incident shown.
    }
    return showIncidentDetail(session, id, { unauthorized, current });
  }
  const q = hash.indexOf("?");
  lastListHash = hash.startsWith("#/incidents") ? hash : defaultListHash;
  showView("list-view");
  return showIncidentList(session, q < 0 ? "" : hash.slice(q + 1), { navigate, unauthorized, current });
}

/** Reloads the list's rows if it is shown; dropped if the user routes elsewhere before the answer comes. */
function refreshList(): void {
  const session = loadSession();
  if (!session || byId("list-view").hidden) return;
  const routed = routes;
  void refreshIncidentList(session, { navigate, unauthorized, current: () => routed === routes });
}

async function logIn(): Promise<void> {
  const form = byId("login-form");
  const submit = byId("login-submit");
  const tenant = field(form, "tenant").value.trim() || "default";
  const username = field(form, "username").value.trim();
  const password = field(form, "password");
  submit.disabled = true;
  const result = await callApi<{ token: string; role: Role }>("/api/v1/auth/login", { method: "POST", body: { tenant, username, password: password.value } });
  submit.disabled = false;
  password.value = "";
  if (result.status === 200) {
    saveSession({ token: result.body.token, role: result.body.role, tenant, username });
    showError(byId("login-error"), "");
    // Back where the user was headed (a shared incident link), or the list.
    return navigate(browserWindow.location.hash || lastListHash);
  }
  const message = result.status === 401 ? "Wrong username or password." : accountRefusal(result) ?? errorMessage(result);
  showError(byId("login-error"), message);
}

/**
 * Ends every session of the user at the detector (a copied token, another tab), then here. Signed out here whatever the
 * answer; when the detector could not be told, the message says the other sessions may go on.
 */
async function logOut(): Promise<void> {
  const session = loadSession();
  const button = byId("logout");
  button.disabled = true;
  const result = session ? await callApi("/api/v1/auth/logout", { method: "POST", token: session.token, timeoutMs: logoutTimeoutMs }) : undefined;
  button.disabled = false;
  // 401: the token had already stopped working (another tab logged out, a password change).
  const ended = !result || result.status === 204 || result.status === 401;
  toLogin(ended ? "You are signed out." : `You are signed out here, but the server could not end your other sessions (${errorMessage(result)}); they end when they expire.`);
  browserWindow.location.hash = "";
}

function start(): void {
  byId("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void logIn();
  });
  byId("logout").addEventListener("click", () => void logOut());
  setUpIncidentList({ navigate });
  setUpPasswordChange({ session: loadSession, unauthorized });
  setUpUserAdmin();
  browserWindow.addEventListener("hashchange", () => void route());
  setInterval(refreshList, listRefreshMs);
  void route();
}

start();

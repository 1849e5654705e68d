// Changing one's own password: the detector checks the current one, and signs out every other session of the user.
import { accountRefusal, callApi, errorMessage, saveSession, type Session } from "./apiClient.ts";
import { byId, field, showError } from "./dom.ts";

export interface PasswordHandlers {
  session(): Session | undefined;
  unauthorized(): void;
}

/** Wires the form once. */
export function setUpPasswordChange(handlers: PasswordHandlers): void {
  const form = byId("password-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void change(handlers);
  });
}

/** Empties the form and its messages (also at a logout, so nothing typed is left for the next user of the page). */
export function resetPasswordChange(): void {
  const form = byId("password-form");
  for (const name of ["currentPassword", "newPassword", "confirmPassword"]) field(form, name).value = "";
  showError(byId("password-error"), "");
  byId("password-notice").textContent = "";
}

/** Shows the empty form. */
export function showPasswordChange(): void {
  resetPasswordChange();
  field(byId("password-form"), "currentPassword").focus();
}

async function change(handlers: PasswordHandlers): Promise<void> {
  const session = handlers.session();
  if (!session) return handlers.unauthorized();
  const form = byId("password-form");
  const error = byId("password-error");
  const current = field(form, "currentPassword");
  const next = field(form, "newPassword");
  const again = field(form, "confirmPassword");
  byId("password-notice").textContent = "";
  if (next.value !== again.value) return showError(error, "The new passwords do not match.");
  const submit = byId("password-submit");
  submit.disabled = true;
  const result = await callApi<{ token: string; role: Session["role"] }>("/api/v1/me/password", {
    method: "PUT", token: session.token, body: { currentPassword: current.value, newPassword: next.value },
  });
  submit.disabled = false;
  current.value = "";
  // Logged out meanwhile: the new token must not sign the user back in.
  if (handlers.session()?.token !== session.token) return;
  if (result.status === 401) return handlers.unauthorized();
  if (result.status !== 200) {
    const message = result.status === 403 ? "The current password is wrong." : accountRefusal(result) ?? errorMessage(result);
    return showError(error, message);
  }
  // The old token no longer works: this session goes on with the new one.
  saveSession({ ...session, token: result.body.token, role: result.body.role });
  next.value = "";
  again.value = "";
  showError(error, "");
  byId("password-notice").textContent = "Password changed. Your other sessions are signed out.";
}

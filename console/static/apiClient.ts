// Calls the detector API through the console's same-origin proxy with the session's bearer token.
import type { incidentView } from "../../detector/api/incidentView.ts";
import type { Role } from "../../detector/auth/user.ts";
import { storage } from "./dom.ts";

export type IncidentView = ReturnType<typeof incidentView>;
export interface IncidentPage {
  items: IncidentView[];
  total: number;
  limit: number;
  offset: number;
  /** Where the next page starts (`cursor`), null when nothing follows. */
  next: string | null;
}

export interface Session {
  token: string;
  tenant: string;
  username: string;
  role: Role;
}

export interface ApiResult<T> {
  status: number;
  body: T & { error?: string; issues?: { field: string; message: string }[] };
  /** The answer's ETag (an incident's version), if it had one. */
  etag?: string;
}

const sessionKey = "minixdr.session";

export function loadSession(): Session | undefined {
  const raw = storage.getItem(sessionKey);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  storage.setItem(sessionKey, JSON.stringify(session));
}

export function clearSession(): void {
  storage.removeItem(sessionKey);
}

/** Calls the API; `timeoutMs` gives up waiting after that long (status 0, like an unreachable console). */
export async function callApi<T>(path: string, init: { method?: string; body?: unknown; token?: string; timeoutMs?: number; ifMatch?: string } = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.ifMatch) headers["if-match"] = init.ifMatch;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  try {
    const res = await fetch(path, {
      method: init.method ?? "GET", headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      ...(init.timeoutMs !== undefined ? { signal: AbortSignal.timeout(init.timeoutMs) } : {}),
    });
    const body = (await res.json().catch(() => ({}))) as ApiResult<T>["body"];
    const etag = res.headers.get("etag");
    return { status: res.status, body, ...(etag ? { etag } : {}) };
  } catch {
    return { status: 0, body: { error: "the console could not be reached" } as ApiResult<T>["body"] };
  }
}

/** A message a person can act on from an error answer. */
export function errorMessage(result: ApiResult<unknown>): string {
  const { error, issues } = result.body;
  const details = issues?.map((i) => `${i.field}: ${i.message}`).join("; ");
  return [error ?? `request failed (${result.status})`, details].filter(Boolean).join(": ");
}

/** What to tell a person when their password was not checked: the account is locked (423) or too many are (429). */
export function accountRefusal(result: ApiResult<unknown>): string | undefined {
  if (result.status === 423) return `Account locked: ${result.body.error ?? "too many failed logins"}. Try again later.`;
  if (result.status === 429) return "Too many sign-ins are being checked right now; try again in a moment.";
  return undefined;
}

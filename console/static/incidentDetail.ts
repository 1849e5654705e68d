// One incident: what fired, when, its techniques and evidence, and the status changes the user's role allows.
import type { IncidentStatus } from "../../detector/incidents/incident.ts";
import { callApi, errorMessage, type IncidentView, type Session } from "./apiClient.ts";
import { byId, h, showError, type Elem } from "./dom.ts";
import { formatTime } from "./format.ts";

export interface DetailHandlers {
  unauthorized(): void;
  /** Whether this incident is still the view routed to last: an answer that arrives after another route is dropped. */
  current(): boolean;
}

/** The button for moving an incident to each status, in workflow order. */
const statusActions: Record<IncidentStatus, string> = {
  open: "Reopen",
  acknowledged: "Acknowledge",
  contained: "Mark contained",
  resolved: "Resolve",
};

const canChangeStatus = (session: Session) => session.role === "analyst" || session.role === "admin";

function facts(i: IncidentView): Elem {
  const model = i.detectedBy.model ? `${i.detectedBy.model.version} (score ${i.detectedBy.model.score.toFixed(2)})` : "—";
  const rows: [string, string | number][] = [
    ["Status", i.status],
    ["Severity", i.severity],
    ["Risk score", i.riskScore],
    ["Source IP", i.sourceIp],
    ["Actor", i.actor ?? "—"],
    ["First seen", formatTime(i.firstSeen)],
    ["Last seen", formatTime(i.lastSeen)],
    ["Rules", i.detectedBy.rules.join(", ") || "—"],
    ["Model", model],
    ["Recommended action", i.recommendedAction ? `${i.recommendedAction.type} ${i.recommendedAction.sourceIp}` : "—"],
    ["Status changed by", i.statusChangedBy ?? "—"],
  ];
  return h("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-fact": k }, v)]));
}

function table(id: string, headings: string[], rows: (string | number)[][]): Elem {
  return h("table", { id },
    h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", {}, t)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))));
}

function render(i: IncidentView, session: Session, onStatus: (status: IncidentStatus) => void): Elem[] {
  const counts = Object.entries(i.evidence.counts).sort(([a], [b]) => a.localeCompare(b));
  const events = i.evidence.events ?? [];
  const actions = h("div", { id: "status-actions" });
  if (canChangeStatus(session)) {
    for (const [status, label] of Object.entries(statusActions) as [IncidentStatus, string][]) {
      if (status === i.status) continue;
      const button = h("button", { type: "button", "data-status": status }, label);
      button.addEventListener("click", () => onStatus(status));
      actions.append(button);
    }
  } else {
    actions.append(h("p", { class: "read-only" }, `Read-only: your role (${session.role}) cannot change an incident's status.`));
  }
  return [
    h("p", { id: "detail-summary", class: "summary" }, i.summary),
    actions,
    facts(i),
    h("h2", {}, "Techniques"),
    table("techniques", ["ID", "Name", "Tactic"], i.techniques.map((t) => [t.id, t.name, t.tactic])),
    h("h2", {}, "Evidence"),
    h("p", { id: "evidence-total" }, `${i.evidence.total} linked event(s)`),
    table("evidence-counts", ["Event kind", "Count"], counts.map(([kind, n]) => [kind, n])),
    h("h3", {}, `Event references (${events.length}${events.length < i.evidence.total ? ` of ${i.evidence.total}` : ""})`),
    table("evidence-events", ["Time", "Kind", "Source", "Event ID"], events.map((e) => [formatTime(e.time), e.kind, e.source, e.id])),
  ];
}

/** Forgets the incident shown (a logout), so the next user of the page sees none of it. */
export function resetIncidentDetail(): void {
  byId("detail-title").textContent = "Incident";
  byId("detail-notice").textContent = "";
  showError(byId("detail-error"), "");
  byId("detail").replaceChildren();
}

export async function showIncidentDetail(session: Session, id: string, handlers: DetailHandlers): Promise<void> {
  const container = byId("detail");
  const error = byId("detail-error");
  const title = byId("detail-title");
  const show = (i: IncidentView) => {
    title.textContent = `Incident ${i.id}`;
    container.replaceChildren(...render(i, session, (status) => void change(status)));
  };
  /** The version of the incident shown: a change is made only to it (If-Match), never over a newer one. */
  let shownVersion: string | undefined;
  const change = async (status: IncidentStatus) => {
    const result = await callApi<IncidentView>(`/api/v1/incidents/${encodeURIComponent(id)}`,
      { method: "PATCH", body: { status }, token: session.token, ...(shownVersion ? { ifMatch: shownVersion } : {}) });
    if (!handlers.current()) return;
    if (result.status === 401) return handlers.unauthorized();
    if (result.status === 412) {
      // Someone else changed it, or new activity was added, since it was shown: show it as it is, and let them decide again.
      await load();
      if (handlers.current()) showError(error, `Not changed: ${errorMessage(result)}. It is shown as it is now.`);
      return;
    }
    if (result.status !== 200) return showError(error, errorMessage(result));
    showError(error, "");
    // The PATCH answer has no event references: fetch the whole incident again.
    await load();
    if (handlers.current()) byId("detail-notice").textContent = `Status changed to ${status}.`;
  };
  const load = async () => {
    const result = await callApi<IncidentView>(`/api/v1/incidents/${encodeURIComponent(id)}`, { token: session.token });
    if (!handlers.current()) return;
    if (result.status === 401) return handlers.unauthorized();
    if (result.status !== 200) {
      title.textContent = "Incident";
      container.replaceChildren();
      return showError(error, errorMessage(result));
    }
    shownVersion = result.etag;
    show(result.body);
  };
  resetIncidentDetail();
  await load();
}

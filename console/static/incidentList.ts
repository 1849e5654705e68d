// The incidents list: filter form, table of one page, pager.
import { callApi, errorMessage, type IncidentPage, type Session } from "./apiClient.ts";
import { byId, field, h, showError, type Elem } from "./dom.ts";
import { filterNames, filtersFromQuery, lastPage, listApiPath, listHash, pageLabel, PageCursors, type IncidentFilters } from "./incidentQuery.ts";
import { formatTime } from "./format.ts";

export interface ListHandlers {
  navigate(hash: string): void;
  unauthorized(): void;
  /** Whether this list is still the view routed to last: an answer that arrives after another route is dropped. */
  current(): boolean;
}

let current: IncidentFilters = filtersFromQuery("");
/** Where the pages reached with Next start: each the `next` of the page before it. */
const cursors = new PageCursors();

/** Wires the filter form and pager once; they navigate, and navigation renders. */
export function setUpIncidentList(handlers: Pick<ListHandlers, "navigate">): void {
  const form = byId("filters");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const filters = { ...current, page: 1 };
    for (const name of filterNames) filters[name] = field(form, name).value;
    handlers.navigate(listHash(filters));
  });
  byId("clear-filters").addEventListener("click", () => handlers.navigate(listHash(filtersFromQuery(""))));
  byId("prev-page").addEventListener("click", () => handlers.navigate(listHash({ ...current, page: Math.max(1, current.page - 1) })));
  byId("next-page").addEventListener("click", () => handlers.navigate(listHash({ ...current, page: current.page + 1 })));
}

function row(i: IncidentPage["items"][number]): Elem {
  const link = h("a", { href: `#/incident/${encodeURIComponent(i.id)}`, class: "incident-link" }, i.summary);
  return h("tr", { "data-id": i.id },
    h("td", {}, h("span", { class: `severity severity-${i.severity}` }, i.severity)),
    h("td", { class: "num" }, i.riskScore),
    h("td", {}, h("span", { class: `status status-${i.status}` }, i.status)),
    h("td", {}, i.techniques.map((t) => t.id).join(", ")),
    h("td", {}, i.sourceIp),
    h("td", { class: "summary" }, link),
    h("td", {}, formatTime(i.lastSeen)));
}

export async function showIncidentList(session: Session, query: string, handlers: ListHandlers): Promise<void> {
  current = filtersFromQuery(query);
  const form = byId("filters");
  for (const name of filterNames) field(form, name).value = current[name];
  await loadRows(session, handlers);
}

/** Loads the shown filters' page again (not the form: what the user is typing in it stays). */
export function refreshIncidentList(session: Session, handlers: ListHandlers): Promise<void> {
  return loadRows(session, handlers);
}

function emptyTable(): void {
  byId("incident-rows").replaceChildren();
  byId("list-empty").hidden = true;
  byId("page-info").textContent = "";
  byId("prev-page").disabled = true;
  byId("next-page").disabled = true;
}

/** Forgets the list shown (a logout): its rows, error and filters, so the next user of the page sees none of it. */
export function resetIncidentList(): void {
  current = filtersFromQuery("");
  cursors.clear();
  const form = byId("filters");
  for (const name of filterNames) field(form, name).value = current[name];
  showError(byId("list-error"), "");
  emptyTable();
}

async function loadRows(session: Session, handlers: ListHandlers): Promise<void> {
  const error = byId("list-error");
  const body = byId("incident-rows");
  const shown = current;
  const result = await callApi<IncidentPage>(listApiPath(shown, cursors.startOf(shown)), { token: session.token });
  if (!handlers.current()) return;
  if (result.status === 401) return handlers.unauthorized();
  if (result.status !== 200) {
    // Nothing was listed: neither "no incidents match" nor a pager to page through what is not shown.
    showError(error, errorMessage(result));
    emptyTable();
    return;
  }
  showError(error, "");
  const { items, total, next } = result.body;
  // A page past the end (its last incident resolved away, or an old link): the last page that has any.
  if (items.length === 0 && current.page > lastPage(total)) return handlers.navigate(listHash({ ...current, page: lastPage(total) }));
  cursors.shown(shown, next);
  body.replaceChildren(...items.map(row));
  byId("list-empty").hidden = items.length > 0;
  byId("page-info").textContent = pageLabel(current.page, items.length, total);
  byId("prev-page").disabled = current.page <= 1;
  byId("next-page").disabled = next === null;
}

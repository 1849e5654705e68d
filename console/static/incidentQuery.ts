// Incident list filters: parsed from and written to the page's hash, and turned into the detector API's query.

export interface IncidentFilters {
  status: string;
  severity: string;
  technique: string;
  sourceIp: string;
  /** 1-based page number. */
  page: number;
}

export const pageSize = 25;
export const filterNames = ["status", "severity", "technique", "sourceIp"] as const;

export function emptyFilters(): IncidentFilters {
  return { status: "", severity: "", technique: "", sourceIp: "", page: 1 };
}

/** Filters from the query part of a hash such as `#/incidents?status=open&page=2`. */
export function filtersFromQuery(query: string): IncidentFilters {
  const params = new URLSearchParams(query);
  const filters = emptyFilters();
  for (const name of filterNames) filters[name] = (params.get(name) ?? "").trim();
  const page = Number(params.get("page") ?? "1");
  filters.page = Number.isInteger(page) && page >= 1 ? page : 1;
  return filters;
}

function filterParams(filters: IncidentFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of filterNames) if (filters[name].trim() !== "") params.set(name, filters[name].trim());
  return params;
}

/** The hash that shows the list with these filters. */
export function listHash(filters: IncidentFilters): string {
  const params = filterParams(filters);
  if (filters.page > 1) params.set("page", String(filters.page));
  const query = params.toString();
  return query ? `#/incidents?${query}` : "#/incidents";
}

/** The detector API path for one page of the list (`limit`/`offset` are the API's paging parameters). */
export function listApiPath(filters: IncidentFilters): string {
  const params = filterParams(filters);
  params.set("limit", String(pageSize));
  params.set("offset", String((filters.page - 1) * pageSize));
  return `/api/v1/incidents?${params.toString()}`;
}

/** The last page that holds any of `total` incidents (1 when there are none). */
export function lastPage(total: number): number {
  return Math.max(1, Math.ceil(total / pageSize));
}

/** "26–50 of 73" for the pager. */
export function pageLabel(page: number, shown: number, total: number): string {
  if (shown === 0) return `0 of ${total}`;
  const first = (page - 1) * pageSize + 1;
  return `${first}–${first + shown - 1} of ${total}`;
}

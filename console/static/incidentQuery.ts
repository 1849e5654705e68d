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

/**
 * The detector API path for one page of the list. `cursor` is the `next` the previous page answered: the page starts
 * right after the incidents shown on it, however the list changed meanwhile. Without one (the first page, or a page
 * opened from a link or reload) the page is counted from the top (`offset`), as the list is now.
 */
export function listApiPath(filters: IncidentFilters, cursor?: string): string {
  const params = filterParams(filters);
  params.set("limit", String(pageSize));
  if (cursor !== undefined) params.set("cursor", cursor);
  else if (filters.page > 1) params.set("offset", String((filters.page - 1) * pageSize));
  return `/api/v1/incidents?${params.toString()}`;
}

/**
 * Where each page of a listing starts, as the pages before it answered (`next`), for the listing last shown only:
 * other filters start afresh. Next then shows what followed the page seen, not what is at its offset now.
 */
export class PageCursors {
  private listing = "";
  private readonly starts = new Map<number, string>();

  /** The cursor page `filters.page` starts at, if the page before it was shown with these filters. */
  startOf(filters: IncidentFilters): string | undefined {
    return this.listing === listingKey(filters) ? this.starts.get(filters.page) : undefined;
  }

  /** A page of `filters` was shown and answered `next` (null: nothing follows it). */
  shown(filters: IncidentFilters, next: string | null): void {
    const key = listingKey(filters);
    if (key !== this.listing) {
      this.listing = key;
      this.starts.clear();
    }
    if (next === null) this.starts.delete(filters.page + 1);
    else this.starts.set(filters.page + 1, next);
  }

  clear(): void {
    this.listing = "";
    this.starts.clear();
  }
}

function listingKey(filters: IncidentFilters): string {
  return filterParams(filters).toString();
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

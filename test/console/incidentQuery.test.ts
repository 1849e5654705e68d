// The list's filters round-trip through the page hash and become the detector API's query parameters.
import { describe, expect, it } from "vitest";
import { filtersFromQuery, lastPage, listApiPath, listHash, pageLabel, PageCursors, pageSize } from "../../console/static/incidentQuery.ts";

describe("incident list filters", () => {
  it("reads filters and page from the hash, ignoring junk", () => {
    expect(filtersFromQuery("status=open&technique=T1110.001&sourceIp=%20203.0.113.45%20&page=3&evil=1")).toEqual({
      status: "open", severity: "", technique: "T1110.001", sourceIp: "203.0.113.45", page: 3,
    });
    for (const page of ["0", "-1", "1.5", "x"]) expect(filtersFromQuery(`page=${page}`).page).toBe(1);
  });

  it("writes only the filters that are set, and the page after the first", () => {
    expect(listHash(filtersFromQuery(""))).toBe("#/incidents");
    expect(listHash({ status: "acknowledged", severity: "", technique: "", sourceIp: "2001:db8::1", page: 2 })).toBe("#/incidents?status=acknowledged&sourceIp=2001%3Adb8%3A%3A1&page=2");
    const f = filtersFromQuery("severity=high&page=4");
    expect(filtersFromQuery(listHash(f).split("?")[1]!)).toEqual(f);
  });

  it("asks the detector for the page after the one shown with its cursor; a page opened from a link, counted from the top", () => {
    expect(listApiPath(filtersFromQuery(""))).toBe(`/api/v1/incidents?limit=${pageSize}`);
    expect(listApiPath(filtersFromQuery("technique=T1110.001&page=3"))).toBe(`/api/v1/incidents?technique=T1110.001&limit=${pageSize}&offset=${2 * pageSize}`);
    expect(listApiPath(filtersFromQuery("technique=T1110.001&page=3"), "abc_-1")).toBe(`/api/v1/incidents?technique=T1110.001&limit=${pageSize}&cursor=abc_-1`);
  });

  it("remembers where each page reached with Next starts, for the filters shown only", () => {
    const cursors = new PageCursors();
    const page = (query: string) => filtersFromQuery(query);
    cursors.shown(page("status=open"), "after-1");
    cursors.shown(page("status=open&page=2"), "after-2");
    expect([cursors.startOf(page("status=open")), cursors.startOf(page("status=open&page=2")), cursors.startOf(page("status=open&page=3"))]).toEqual([undefined, "after-1", "after-2"]);
    // Previous and Next again: the same pages as seen, not what is at their offsets now.
    expect(listApiPath(page("status=open&page=2"), cursors.startOf(page("status=open&page=2")))).toBe(`/api/v1/incidents?status=open&limit=${pageSize}&cursor=after-1`);
    // The last page: nothing follows it.
    cursors.shown(page("status=open&page=2"), null);
    expect(cursors.startOf(page("status=open&page=3"))).toBeUndefined();
    // Other filters start afresh; so does a logout.
    expect(cursors.startOf(page("status=resolved&page=2"))).toBeUndefined();
    cursors.shown(page("status=resolved"), "resolved-1");
    expect(cursors.startOf(page("status=open&page=2"))).toBeUndefined();
    expect(cursors.startOf(page("status=resolved&page=2"))).toBe("resolved-1");
    cursors.clear();
    expect(cursors.startOf(page("status=resolved&page=2"))).toBeUndefined();
  });

  it("labels the pager", () => {
    expect(pageLabel(1, 0, 0)).toBe("0 of 0");
    // A page past the end shows nothing of the total (not "26–25 of 1"); the list then goes to the last page.
    expect(pageLabel(2, 0, 1)).toBe("0 of 1");
    expect([lastPage(0), lastPage(1), lastPage(pageSize), lastPage(pageSize + 1)]).toEqual([1, 1, 1, 2]);
    expect(pageLabel(1, 2, 2)).toBe("1–2 of 2");
    expect(pageLabel(2, 2, pageSize + 2)).toBe(`${pageSize + 1}–${pageSize + 2} of ${pageSize + 2}`);
  });
});

// How times and numbers read on the page: UTC, to the second, the same for every analyst.

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

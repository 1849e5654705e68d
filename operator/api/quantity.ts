// Kubernetes resource quantities ("500m", "1Gi", "1e3") as numbers.

const quantityPattern = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const suffixes: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity ("500m", "1Gi", "1e3"), or undefined if it is not one. */
export function quantityValue(q: string): number | undefined {
  const m = quantityPattern.exec(q);
  if (!m) return undefined;
  const [, num, suffix = ""] = m;
  if (/^[eE][-+]?[0-9]+$/.test(suffix)) return Number(num + suffix);
  const factor = suffixes[suffix];
  return factor === undefined ? undefined : Number(num) * factor;
}

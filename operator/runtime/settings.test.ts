import { describe, expect, it } from "vitest";
import { loadSettings, settingsUsage, SettingsError } from "./settings.ts";

const noEnv = {};

describe("loadSettings", () => {
  it("has working defaults", () => {
    const s = loadSettings([], { POD_NAMESPACE: "ops", POD_NAME: "operator-0" });
    expect(s).toEqual({
      metricsPort: 8080, bindAddress: "::", concurrency: 4, resyncSeconds: 300, leaderElect: false,
      leaseNamespace: "ops", leaseName: "minixdr-operator", leaderIdentity: "operator-0",
      watchNamespace: "", logLevel: "info", kubeconfig: "", podUserIds: "auto",
    });
  });

  it("takes --pod-user-ids auto, fixed or platform, and refuses anything else naming what is allowed", () => {
    expect(loadSettings(["--pod-user-ids=platform"], noEnv).podUserIds).toBe("platform");
    expect(loadSettings([], { MINIXDR_POD_USER_IDS: "fixed" }).podUserIds).toBe("fixed");
    expect(() => loadSettings(["--pod-user-ids", "openshift"], noEnv)).toThrow(/--pod-user-ids \/ MINIXDR_POD_USER_IDS: "openshift" .* is not auto .*, fixed .* or platform/);
  });

  it("falls back to the pod's namespace and name, then to fixed defaults", () => {
    const s = loadSettings([], {});
    expect(s.leaseNamespace).toBe("minixdr-system");
    expect(s.leaderIdentity.length).toBeGreaterThan(0);
  });

  it("reads flags in both forms and lets a flag win over its environment variable", () => {
    const s = loadSettings(
      ["--metrics-port=9090", "--concurrency", "4", "--leader-elect", "--watch-namespace=team-a", "--log-level", "debug", "--resync-seconds=0"],
      { MINIXDR_METRICS_PORT: "7000", MINIXDR_LEASE_NAME: "from-env", MINIXDR_LEADER_IDENTITY: "pod-1" },
    );
    expect(s).toMatchObject({
      metricsPort: 9090, concurrency: 4, leaderElect: true, watchNamespace: "team-a", logLevel: "debug", resyncSeconds: 0,
      leaseName: "from-env", leaderIdentity: "pod-1",
    });
  });

  it("takes environment variables when no flag is given", () => {
    expect(loadSettings([], { MINIXDR_LEADER_ELECT: "TRUE", MINIXDR_CONCURRENCY: "8", MINIXDR_LEASE_NAMESPACE: "ops" }))
      .toMatchObject({ leaderElect: true, concurrency: 8, leaseNamespace: "ops" });
    expect(loadSettings(["--leader-elect=false"], { MINIXDR_LEADER_ELECT: "true" }).leaderElect).toBe(false);
    expect(loadSettings(["--leader-elect", "--concurrency=3"], noEnv)).toMatchObject({ leaderElect: true, concurrency: 3 });
  });

  it.each([
    [["--metrics-port=http"], noEnv, /--metrics-port \/ MINIXDR_METRICS_PORT: "http" \(from the flag --metrics-port\) is not a port number from 1 to 65535/],
    [[], { MINIXDR_METRICS_PORT: "70000" }, /--metrics-port \/ MINIXDR_METRICS_PORT: "70000" \(from the environment variable MINIXDR_METRICS_PORT\) is not a port number/],
    [["--concurrency=0"], noEnv, /--concurrency \/ MINIXDR_CONCURRENCY: "0" .* is not a whole number of parallel reconciles from 1 to 64/],
    [["--resync-seconds=-5"], noEnv, /--resync-seconds \/ MINIXDR_RESYNC_SECONDS: "-5" .* whole seconds from 0 \(off\) to 86400/],
    [["--leader-elect=maybe"], noEnv, /--leader-elect \/ MINIXDR_LEADER_ELECT: "maybe" .* is not true or false/],
    [["--watch-namespace=Team_A"], noEnv, /--watch-namespace \/ MINIXDR_WATCH_NAMESPACE: "Team_A" .* or empty for all namespaces/],
    [["--log-level=verbose"], noEnv, /--log-level \/ MINIXDR_LOG_LEVEL: "verbose" .* one of fatal, error, warn, info, debug, trace, silent/],
    [["--lease-name=Bad Name"], noEnv, /--lease-name \/ MINIXDR_LEASE_NAME/],
    [["--concurrency"], noEnv, /--concurrency needs a value: a whole number/],
    [["--verbose"], noEnv, /unknown argument "--verbose"; known flags: --metrics-port, /],
  ])("rejects %j %j naming the flag, the variable and what is allowed", (argv, env, message) => {
    expect(() => loadSettings(argv, env)).toThrow(SettingsError);
    expect(() => loadSettings(argv, env)).toThrow(message);
  });

  it("reports every bad value at once", () => {
    let error: unknown;
    try {
      loadSettings(["--concurrency=lots"], { MINIXDR_LOG_LEVEL: "loud" });
    } catch (err) {
      error = err;
    }
    expect((error as Error).message.split("\n").filter((l) => l.startsWith("- "))).toHaveLength(2);
  });

  it("documents every flag with its variable", () => {
    expect(settingsUsage()).toMatch(/--watch-namespace \(env MINIXDR_WATCH_NAMESPACE\)/);
    expect(settingsUsage().split("\n")).toHaveLength(12);
  });

  it("takes the kubeconfig from --kubeconfig, else from KUBECONFIG (which may list several files)", () => {
    expect(loadSettings([], { KUBECONFIG: "/a:/b" }).kubeconfig).toBe("/a:/b");
    expect(loadSettings(["--kubeconfig", "/c"], { KUBECONFIG: "/a:/b" }).kubeconfig).toBe("/c");
  });
});

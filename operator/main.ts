// The operator process: `node operator/main.ts [flags]` (flags and environment: operator/runtime/settings.ts).
import { KubeConfigError, loadKubeConnection } from "./kube/config.ts";
import { startOperator } from "./operator.ts";
import { countRequests } from "./runtime/counting-client.ts";
import { createLogger } from "./runtime/logger.ts";
import { OperatorMetrics } from "./runtime/metrics.ts";
import { buildServer } from "./runtime/server.ts";
import { loadSettings, SettingsError, settingsUsage } from "./runtime/settings.ts";
import { listenOn } from "../detector/ops/listenAddress.ts";

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(`usage: minixdr operator [flags]\n\n${settingsUsage()}`);
    return;
  }
  let settings;
  try {
    settings = loadSettings(argv);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(`${err.message}\n\n${settingsUsage()}`);
    process.exit(2);
  }
  const log = createLogger({ level: settings.logLevel });
  let connection;
  try {
    connection = loadKubeConnection({ kubeconfig: settings.kubeconfig });
  } catch (err) {
    if (!(err instanceof KubeConfigError)) throw err;
    log.fatal(err.message);
    process.exit(2);
  }
  const metrics = new OperatorMetrics();
  // Every request (reconciler, informers, leader election) is counted once, where it takes its credentials.
  countRequests(connection, metrics.apiRequest);

  const operator = await startOperator({
    connection,
    log,
    identity: settings.leaderIdentity,
    leaderElection: settings.leaderElect ? { namespace: settings.leaseNamespace, name: settings.leaseName } : false,
    watchNamespace: settings.watchNamespace,
    concurrency: settings.concurrency,
    resyncMs: settings.resyncSeconds * 1000,
    podUserIds: settings.podUserIds,
    onReconciled: metrics.reconciled,
    onLeadershipChange: (leading) => metrics.setLeader(leading),
    onInstanceStatus: (namespace, name, status) =>
      status ? metrics.setInstanceConditions(namespace, name, status.conditions ?? []) : metrics.forgetInstance(namespace, name),
    // A replica that lost its lease restarts clean rather than risk acting on a stale view.
    onLostLeadership: () => process.exit(1),
  });
  metrics.trackWorkQueue({ get depth() { return operator.controller?.queue.depth ?? 0; } });

  const server = buildServer({ metrics, informers: () => operator.controller?.watched ?? [], isLeader: () => operator.leading, isStarting: () => operator.starting, logger: log });
  try {
    await listenOn(settings.bindAddress, (host) => server.listen({ port: settings.metricsPort, host }));
  } catch (err) {
    // A port in use or an address not on this host: say which setting, not a stack trace.
    log.fatal({ err }, `cannot serve metrics and probes on ${settings.bindAddress}:${settings.metricsPort} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set --metrics-port / MINIXDR_METRICS_PORT or --bind-address / MINIXDR_BIND_ADDRESS`);
    await operator.stop({ releaseLease: true }).catch(() => undefined);
    process.exit(2);
  }
  log.info({ port: settings.metricsPort, leaderElect: settings.leaderElect, identity: settings.leaderIdentity, cluster: connection.source }, "operator started");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "finishing in-flight reconciles and releasing the lease");
    await operator.stop({ releaseLease: true });
    await server.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

if (import.meta.main) await main();

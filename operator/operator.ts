// The operator as a library: leader election gates the controller; stop() drains in-flight work and releases the lease.
import type { Logger } from "pino";
import type { MiniXdrStatus } from "./api/minixdr.ts";
import { MiniXdrController } from "./controller/controller.ts";
import { KubeEventRecorder } from "./controller/events.ts";
import { resolvePodUserIds, type PodUserIdsSetting } from "./controller/pod-user-ids.ts";
import { MiniXdrReconciler } from "./controller/reconciler.ts";
import { KubeClient, type Verb } from "./kube/client.ts";
import type { KubeConnection } from "./kube/config.ts";
import { LeaderElector } from "./runtime/leader-election.ts";
import type { ReconcileOutcome } from "./runtime/work-queue.ts";

export interface OperatorOptions {
  connection: KubeConnection;
  log: Logger;
  /** Unique per process, e.g. the pod name. */
  identity: string;
  leaderElection?: { namespace: string; name: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number } | false;
  watchNamespace?: string;
  concurrency?: number;
  resyncMs?: number;
  /** The pods' user ids (`--pod-user-ids`); `auto` (the default) asks the API server whether the platform assigns them. */
  podUserIds?: PodUserIdsSetting;
  /** Called for every API request the reconciler makes (not the informers' and the leader election's; count those with countRequests on the connection). */
  onRequest?: (verb: Verb, resource: string) => void;
  onReconciled?: (key: string, outcome: ReconcileOutcome, seconds: number, error?: unknown) => void;
  onLeadershipChange?: (leading: boolean) => void;
  onInstanceStatus?: (namespace: string, name: string, status: MiniXdrStatus | undefined) => void;
  /** Called when leadership is lost; a production process exits so it restarts from a clean state. */
  onLostLeadership?: () => void;
}

export interface RunningOperator {
  readonly leading: boolean;
  /** Leading, but the controller is not running yet (the pods' user ids are still being resolved). */
  readonly starting: boolean;
  readonly controller: MiniXdrController | undefined;
  stop(opts?: { releaseLease?: boolean }): Promise<void>;
}

export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const client = new KubeClient(opts.connection, opts.onRequest);
  // Informers and the leader election talk through a client of their own, so onRequest sees the reconciler only.
  const watchClient = new KubeClient(opts.connection);
  const events = new KubeEventRecorder(client, (err, event) => opts.log.warn({ err, ...event }, "could not record an event"));
  let controller: MiniXdrController | undefined;
  let leading = false;
  let stopping = false;
  const stopped = new AbortController();

  const startController = async () => {
    const podUserIds = await resolvePodUserIds(watchClient, opts.podUserIds ?? "auto", opts.log, { signal: stopped.signal });
    controller = new MiniXdrController({
      client: watchClient,
      log: opts.log,
      watchNamespace: opts.watchNamespace ?? "",
      concurrency: opts.concurrency ?? 4,
      resyncMs: opts.resyncMs ?? 10 * 60_000,
      reconciler: (state) => new MiniXdrReconciler({ client, state, events, log: opts.log, renderOptions: { podUserIds }, ...(opts.onInstanceStatus ? { onStatus: opts.onInstanceStatus } : {}) }),
      ...(opts.onReconciled ? { onReconciled: opts.onReconciled } : {}),
    });
    await controller.start();
    opts.log.info({ watchNamespace: opts.watchNamespace || "(all)" }, "controller started");
  };
  const stopController = async () => {
    const c = controller;
    controller = undefined;
    await c?.stop();
  };

  let elector: LeaderElector | undefined;
  if (opts.leaderElection) {
    const leader = elector = new LeaderElector(watchClient, {
      ...opts.leaderElection,
      identity: opts.identity,
      logger: opts.log,
      onStartedLeading: () => {
        leading = true;
        opts.onLeadershipChange?.(true);
        opts.log.info({ identity: opts.identity }, "became leader");
        startController().catch((err: unknown) => opts.log.error({ err }, "controller failed to start"));
      },
      onStoppedLeading: () => {
        leading = false;
        opts.onLeadershipChange?.(false);
        opts.log.warn({ identity: opts.identity }, "lost leadership; stopping the controller");
        // Not after the controller has stopped: its reconciles in flight would go on (their writes are fenced, but a
        // request can wait 30 s); a production process exits at once and restarts clean.
        if (!stopping) opts.onLostLeadership?.();
        void stopController();
      },
    });
    // Every write of the reconciler and its Events needs the Lease held now, not as of the last election loop.
    client.fenceWrites(() => (leader.holdsLease() ? undefined : "this replica does not hold the leader Lease"));
    elector.start();
  } else {
    leading = true;
    opts.onLeadershipChange?.(true);
    await startController();
  }

  return {
    get leading() {
      return leading;
    },
    get controller() {
      return controller;
    },
    get starting() {
      return leading && !stopping && controller === undefined;
    },
    async stop({ releaseLease = true } = {}) {
      stopping = true;
      stopped.abort(new Error("the operator is stopping"));
      await stopController();
      if (elector) {
        if (releaseLease) await elector.release();
        await elector.stop();
      }
    },
  };
}

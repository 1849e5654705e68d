// Which pod user ids the operator renders (`--pod-user-ids`): fixed ones, or none where the platform assigns them.
import type { Logger } from "pino";
import { isNotFound, type KubeClient } from "../kube/client.ts";
import type { PodUserIds } from "../render/render.ts";

export type PodUserIdsSetting = "auto" | PodUserIds;

/** The API whose presence means the platform assigns pod user ids: OpenShift's SecurityContextConstraints. */
export const securityContextConstraintsPath = "/apis/security.openshift.io/v1";

/**
 * Whether the API server serves SecurityContextConstraints. Discovery is readable by every authenticated user
 * (system:discovery), so it needs no RBAC rule; a 404 is "not served", anything else fails (the caller retries).
 */
export async function servesSecurityContextConstraints(client: KubeClient, signal?: AbortSignal): Promise<boolean> {
  try {
    const list = await client.call<{ resources?: { name?: string }[] }>("get", "apiresources", "GET", securityContextConstraintsPath, signal ? { signal } : {});
    return (list?.resources ?? []).some((r) => r.name === "securitycontextconstraints");
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * `auto`: `platform` where the API server serves SecurityContextConstraints (OpenShift), else `fixed`. Asked once,
 * before the first reconcile (a platform does not change under a running operator), and asked again until answered:
 * rendering either way without knowing would roll every instance's pods once the answer came.
 */
export async function resolvePodUserIds(
  client: KubeClient,
  setting: PodUserIdsSetting,
  log: Logger,
  opts: { signal?: AbortSignal; retryMs?: (attempt: number) => number } = {},
): Promise<PodUserIds> {
  if (setting !== "auto") {
    log.info({ podUserIds: setting }, "pod user ids set by --pod-user-ids");
    return setting;
  }
  const retryMs = opts.retryMs ?? ((attempt: number) => Math.min(30_000, 500 * 2 ** attempt));
  for (let attempt = 0; ; attempt++) {
    try {
      const platform = await servesSecurityContextConstraints(client, opts.signal);
      const podUserIds: PodUserIds = platform ? "platform" : "fixed";
      log.info({ podUserIds }, platform
        ? "the API server serves security.openshift.io/v1 SecurityContextConstraints: pods get no fixed uid, gid or fsGroup (the platform assigns them)"
        : "no SecurityContextConstraints API: pods run as uid and gid 1000 with fsGroup 1000");
      return podUserIds;
    } catch (err) {
      // Stopped while a request was out: say why it stopped, not that the request was aborted.
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : err;
      const waitMs = retryMs(attempt);
      log.warn({ err, retryInMs: waitMs }, `cannot tell whether the platform assigns pod user ids (GET ${securityContextConstraintsPath} failed); no MiniXdr is reconciled until it answers`);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, waitMs);
        opts.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error("stopped"));
        }, { once: true });
      });
    }
  }
}

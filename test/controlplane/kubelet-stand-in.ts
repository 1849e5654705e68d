// There is no kubelet in the local control plane: this reports pods Running and Ready as one would, so the real
// replicaset and deployment controllers derive availability (used by the tests and by `make run`).
import type { KubeClient } from "../../operator/kube/client.ts";

const podsRef = { group: "", version: "v1", plural: "pods" };

/** Reports each pod Running and Ready, its containers running and ready (so `kubectl get pods` says 1/1, not 0/1). */
export async function reportPodsReady(client: KubeClient, namespace: string, podNames: string[]): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  for (const name of podNames) {
    const pod = await client.get(podsRef, namespace, name);
    const containers = (pod.spec as { containers?: { name: string; image: string }[] } | undefined)?.containers ?? [];
    await client.apply(podsRef, namespace, name, {
      apiVersion: "v1", kind: "Pod", metadata: { name, namespace },
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }, { type: "ContainersReady", status: "True", lastTransitionTime: now }],
        containerStatuses: containers.map((c) => ({
          name: c.name, image: c.image, imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
        })),
      },
    }, { subresource: "status", manager: "kubelet-stand-in" });
  }
}

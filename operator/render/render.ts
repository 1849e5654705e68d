// MiniXdr → the objects it should own. Pure: no client, no clock, no randomness.
import { withDefaults, type MiniXdr, type MiniXdrSpec } from "../api/minixdr.ts";
import { renderHorizontalPodAutoscaler } from "./autoscaling.ts";
import { configHash, renderDetectorConfigMap } from "./detector-config.ts";
import { defaultRenderOptions, renderDeployment, type RenderOptions } from "./deployments.ts";
import { renderPodDisruptionBudget } from "./disruption-budgets.ts";
import type { ChildObject, Component } from "./meta.ts";
import { renderNetworkPolicies } from "./network-policies.ts";
import { renderExternalSecret, renderGeneratedSecret } from "./secrets.ts";
import { renderServiceAccount } from "./service-accounts.ts";
import { renderService } from "./services.ts";
import { renderDataVolumeClaim } from "./storage.ts";

export { defaultRenderOptions, type PodUserIds, type RenderOptions } from "./deployments.ts";

export interface DesiredChild {
  object: ChildObject;
  /** Created once with generated content and never updated (the generated Secret). */
  createOnly?: boolean;
}

export function enabledComponents(spec: MiniXdrSpec): Component[] {
  return spec.console.enabled ? ["detector", "console"] : ["detector"];
}

export function render(cr: MiniXdr, spec: MiniXdrSpec = withDefaults(cr.spec), options: RenderOptions = defaultRenderOptions): DesiredChild[] {
  const configMap = renderDetectorConfigMap(cr, spec);
  const out: DesiredChild[] = [{ object: configMap }];
  const generatesSecret = !spec.secrets.existingSecret && !spec.secrets.externalSecret;
  if (generatesSecret) out.push({ object: renderGeneratedSecret(cr), createOnly: true });
  const optional = [renderExternalSecret(cr, spec), renderDataVolumeClaim(cr, spec), renderHorizontalPodAutoscaler(cr, spec)];
  for (const component of enabledComponents(spec)) {
    out.push({ object: renderServiceAccount(cr, component) });
    out.push({ object: renderService(cr, component) });
    out.push({ object: renderDeployment(cr, spec, component, component === "detector" ? configHash(configMap) : undefined, options) });
    optional.push(renderPodDisruptionBudget(cr, spec, component));
  }
  for (const o of optional) if (o) out.push({ object: o });
  for (const np of renderNetworkPolicies(cr, spec)) out.push({ object: np });
  return out;
}

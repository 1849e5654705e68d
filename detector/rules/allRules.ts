// Every detection rule the engine runs.
import { bruteForceRule } from "./bruteForceRule.ts";
import type { DetectionRule } from "./detectionRule.ts";
import { exfiltrationRule } from "./exfiltrationRule.ts";
import {
  anonymousRequestRule, clusterAdminBindingRule, escalatingRoleRule, kubeletProxyCommandRule, podExecRule, privilegedPodRule, secretsAccessRule, serviceAccountTokenRule,
} from "./kubernetesRules.ts";
import { loginAfterFailuresRule } from "./loginAfterFailuresRule.ts";
import { passwordSprayRule } from "./passwordSprayRule.ts";
import { portScanRule } from "./portScanRule.ts";
import { toolDownloadRule } from "./toolDownloadRule.ts";

export const allRules: DetectionRule[] = [
  bruteForceRule,
  passwordSprayRule,
  loginAfterFailuresRule,
  toolDownloadRule,
  portScanRule,
  exfiltrationRule,
  podExecRule,
  kubeletProxyCommandRule,
  serviceAccountTokenRule,
  secretsAccessRule,
  privilegedPodRule,
  clusterAdminBindingRule,
  escalatingRoleRule,
  anonymousRequestRule,
];

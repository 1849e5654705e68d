// MITRE ATT&CK techniques the rules tag incidents with (https://attack.mitre.org/techniques/).

export interface Technique {
  id: string;
  name: string;
  tactic: string;
}

export const techniques = {
  bruteForce: { id: "T1110.001", name: "Brute Force: Password Guessing", tactic: "Credential Access" },
  passwordSpraying: { id: "T1110.003", name: "Brute Force: Password Spraying", tactic: "Credential Access" },
  validAccounts: { id: "T1078", name: "Valid Accounts", tactic: "Initial Access" },
  defaultAccounts: { id: "T1078.001", name: "Valid Accounts: Default Accounts", tactic: "Initial Access" },
  ingressToolTransfer: { id: "T1105", name: "Ingress Tool Transfer", tactic: "Command and Control" },
  networkServiceDiscovery: { id: "T1046", name: "Network Service Discovery", tactic: "Discovery" },
  exfiltrationAlternativeProtocol: { id: "T1048", name: "Exfiltration Over Alternative Protocol", tactic: "Exfiltration" },
  containerAdministrationCommand: { id: "T1609", name: "Container Administration Command", tactic: "Execution" },
  stealApplicationAccessToken: { id: "T1528", name: "Steal Application Access Token", tactic: "Credential Access" },
  containerApiCredentials: { id: "T1552.007", name: "Unsecured Credentials: Container API", tactic: "Credential Access" },
  escapeToHost: { id: "T1611", name: "Escape to Host", tactic: "Privilege Escalation" },
  additionalContainerClusterRoles: { id: "T1098.006", name: "Account Manipulation: Additional Container Cluster Roles", tactic: "Persistence" },
} as const satisfies Record<string, Technique>;

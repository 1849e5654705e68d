"""Seeded synthetic generator of per-source behaviour (the raw SourceBehaviour of features.ts).

Each scenario draws rates per minute from wide log-normal ranges, so low-and-slow attacks overlap busy
benign sources (slow brute force vs. a forgotten password, slow scans vs. monitoring, exfiltration vs.
backups, web scanning vs. crawlers, secret harvesting vs. controllers that read secrets). The same seed
always yields the same rows.

    python generate_data.py --rows 1000 --seed 7 > rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

FIELDS = (
    "windowSeconds", "events", "failedLogins", "successfulLogins", "distinctUsernames", "distinctPasswords",
    "commands", "downloads", "distinctDestPorts", "distinctDestIps", "flows", "bytesOut", "bytesIn", "alerts",
    "maxAlertSeverity", "httpRequests", "http4xx", "auditRequests", "auditForbidden", "secretReads", "execs",
)

WINDOWS = (60, 300, 900)


class Draw:
    """Random helpers bound to one row's window."""

    def __init__(self, rng: np.random.Generator, window: int) -> None:
        self.rng = rng
        self.minutes = window / 60

    def rate(self, median_per_min: float, spread: float) -> float:
        return float(median_per_min * np.exp(self.rng.normal(0.0, spread)))

    def count(self, median_per_min: float, spread: float) -> int:
        return int(self.rng.poisson(self.rate(median_per_min, spread) * self.minutes))

    def total(self, median: float, spread: float) -> int:
        return int(round(median * np.exp(self.rng.normal(0.0, spread))))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def int_between(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def share(self, a: float, b: float) -> float:
        return float(self.rng.beta(a, b))


def blank(window: int) -> dict[str, int]:
    row = {f: 0 for f in FIELDS}
    row["windowSeconds"] = window
    return row


def alerts(d: Draw, row: dict[str, int], p: float, lo_sev: int, hi_sev: int, median: float = 0.2) -> None:
    if d.chance(p):
        row["alerts"] = max(1, d.count(median, 1.0))
        row["maxAlertSeverity"] = d.int_between(lo_sev, hi_sev)


def http(d: Draw, row: dict[str, int], median: float, spread: float, share_a: float, share_b: float) -> None:
    row["httpRequests"] = d.count(median, spread)
    row["http4xx"] = int(d.rng.binomial(row["httpRequests"], d.share(share_a, share_b)))


def traffic(d: Draw, row: dict[str, int], flows_per_min: float, out_per_flow: float, in_per_flow: float) -> None:
    row["flows"] = max(row["flows"], d.count(flows_per_min, 0.8))
    row["bytesOut"] += int(row["flows"] * d.total(out_per_flow, 0.8))
    row["bytesIn"] += int(row["flows"] * d.total(in_per_flow, 0.8))
    if row["flows"] > 0:
        row["distinctDestIps"] = max(row["distinctDestIps"], 1)
        row["distinctDestPorts"] = max(row["distinctDestPorts"], 1)


def ssh_logins(d: Draw, row: dict[str, int], failed: int, ok: int, users: int, passwords: int) -> None:
    row["failedLogins"] += failed
    row["successfulLogins"] += ok
    row["distinctUsernames"] = max(row["distinctUsernames"], min(users, failed + ok)) if failed + ok else 0
    row["distinctPasswords"] = max(row["distinctPasswords"], min(passwords, failed + ok)) if failed + ok else 0
    row["distinctDestPorts"] = max(row["distinctDestPorts"], 1)
    row["distinctDestIps"] = max(row["distinctDestIps"], 1)
    row["flows"] += failed + ok


# --- benign -----------------------------------------------------------------------------------------

def web_user(d: Draw, row: dict[str, int]) -> None:
    http(d, row, 2.0, 1.0, 1, 30)
    row["flows"] = max(1, row["httpRequests"] // max(1, d.int_between(2, 10)))
    row["distinctDestIps"] = d.int_between(1, 3)
    row["distinctDestPorts"] = d.int_between(1, 2)
    row["bytesOut"] = row["httpRequests"] * d.total(900, 0.5)
    row["bytesIn"] = row["httpRequests"] * d.total(40_000, 1.2)
    alerts(d, row, 0.03, 1, 1)


def admin_ssh(d: Draw, row: dict[str, int]) -> None:
    failed = d.int_between(1, 3) if d.chance(0.25) else 0
    ssh_logins(d, row, failed, d.int_between(1, 3), 1, 2)
    row["commands"] = d.count(1.5, 1.0)
    row["downloads"] = d.int_between(1, 3) if d.chance(0.25) else 0
    traffic(d, row, 0.5, 4_000, 60_000)
    row["bytesIn"] += row["downloads"] * d.total(2_000_000, 1.5)
    alerts(d, row, 0.05, 1, 2)


def monitoring(d: Draw, row: dict[str, int]) -> None:
    row["distinctDestIps"] = d.int_between(3, 80)
    row["distinctDestPorts"] = d.int_between(2, 12) if d.chance(0.8) else d.int_between(10, 30)
    traffic(d, row, 4.0 * row["distinctDestIps"] ** 0.5, 600, 8_000)
    http(d, row, 3.0 * row["distinctDestIps"] ** 0.5, 0.8, 1, 50)
    alerts(d, row, 0.04, 1, 1)


def k8s_controller(d: Draw, row: dict[str, int]) -> None:
    row["auditRequests"] = d.count(40.0, 1.2)
    reads_secrets = d.chance(0.35)
    row["secretReads"] = int(d.rng.binomial(row["auditRequests"], d.share(2, 20))) if reads_secrets else 0
    row["auditForbidden"] = int(d.rng.binomial(row["auditRequests"], 0.005)) if d.chance(0.3) else 0
    traffic(d, row, 1.0, 1_500, 4_000)


def ci_deployer(d: Draw, row: dict[str, int]) -> None:
    row["auditRequests"] = d.count(8.0, 1.0)
    row["secretReads"] = int(d.rng.binomial(row["auditRequests"], d.share(2, 8)))
    row["auditForbidden"] = int(d.rng.binomial(row["auditRequests"], d.share(1, 15))) if d.chance(0.4) else 0
    row["execs"] = d.count(0.3, 1.0) if d.chance(0.5) else 0
    traffic(d, row, 1.5, 20_000, 50_000)


def backup_job(d: Draw, row: dict[str, int]) -> None:
    row["flows"] = d.int_between(1, 6)
    row["distinctDestIps"] = d.int_between(1, 2)
    row["distinctDestPorts"] = 1
    row["bytesOut"] = int(d.total(8_000_000, 1.3) * d.minutes)
    row["bytesIn"] = int(row["bytesOut"] * d.share(1, 200))
    alerts(d, row, 0.05, 1, 2)


def forgot_password(d: Draw, row: dict[str, int]) -> None:
    failed = d.int_between(2, 12)
    ok = 1 if d.chance(0.7) else 0
    ssh_logins(d, row, failed, ok, d.int_between(1, 2), d.int_between(2, 6))
    row["commands"] = d.count(1.0, 1.0) if ok else 0
    alerts(d, row, 0.1, 1, 2)


def crawler(d: Draw, row: dict[str, int]) -> None:
    http(d, row, 25.0, 1.0, 2, 10)
    row["flows"] = max(1, row["httpRequests"] // d.int_between(1, 5))
    row["distinctDestIps"] = d.int_between(1, 3)
    row["distinctDestPorts"] = d.int_between(1, 2)
    row["bytesOut"] = row["httpRequests"] * d.total(500, 0.4)
    row["bytesIn"] = row["httpRequests"] * d.total(25_000, 1.0)
    alerts(d, row, 0.15, 1, 2)


def noisy_ids(d: Draw, row: dict[str, int]) -> None:
    web_user(d, row)
    row["alerts"] = max(1, d.count(0.5, 1.2))
    row["maxAlertSeverity"] = 1 if d.chance(0.6) else (2 if d.chance(0.85) else 3)


def nat_gateway(d: Draw, row: dict[str, int]) -> None:
    users = d.int_between(3, 25)
    ssh_logins(d, row, d.count(0.3, 1.0), d.int_between(users // 2 + 1, users * 2), users, users + 3)
    row["commands"] = d.count(3.0, 1.0)
    row["downloads"] = d.int_between(0, 3)
    http(d, row, 15.0, 1.0, 1, 25)
    traffic(d, row, 10.0, 3_000, 50_000)
    row["distinctDestIps"] = d.int_between(5, 60)
    row["distinctDestPorts"] = d.int_between(2, 8)
    alerts(d, row, 0.2, 1, 2)


# --- attacks ----------------------------------------------------------------------------------------

def brute_force(d: Draw, row: dict[str, int]) -> None:
    failed = max(2, d.count(8.0, 1.4))
    ok = 1 if d.chance(0.1) else 0
    ssh_logins(d, row, failed, ok, d.int_between(1, 4), int(failed * d.share(6, 2)) + 1)
    row["commands"] = d.int_between(0, 5) if ok else 0
    alerts(d, row, 0.35, 2, 2)


def password_spray(d: Draw, row: dict[str, int]) -> None:
    users = d.int_between(4, 80)
    failed = users * d.int_between(1, 2)
    ok = 1 if d.chance(0.1) else 0
    ssh_logins(d, row, failed, ok, users, d.int_between(1, 3))
    alerts(d, row, 0.2, 1, 2)


def port_scan(d: Draw, row: dict[str, int]) -> None:
    slow = d.chance(0.35)
    row["distinctDestPorts"] = d.int_between(8, 40) if slow else min(65535, d.total(250, 1.0) + 20)
    row["distinctDestIps"] = d.int_between(1, 5) if d.chance(0.7) else d.int_between(5, 120)
    row["flows"] = row["distinctDestPorts"] * max(1, row["distinctDestIps"] // d.int_between(1, 4))
    row["bytesOut"] = row["flows"] * d.total(80, 0.3)
    row["bytesIn"] = row["flows"] * d.total(40, 0.5)
    alerts(d, row, 0.5, 1, 2)


def exfiltration(d: Draw, row: dict[str, int]) -> None:
    row["flows"] = d.int_between(1, 20)
    row["distinctDestIps"] = d.int_between(1, 3)
    row["distinctDestPorts"] = d.int_between(1, 3)
    row["bytesOut"] = int(d.total(15_000_000, 1.4) * d.minutes)
    row["bytesIn"] = int(row["bytesOut"] * d.share(1, 400))
    if d.chance(0.3):
        ssh_logins(d, row, 0, 1, 1, 1)
        row["commands"] = d.count(0.8, 1.0)
    alerts(d, row, 0.15, 1, 3)


def post_login_download(d: Draw, row: dict[str, int]) -> None:
    failed = d.count(2.0, 1.5) if d.chance(0.6) else 0
    ssh_logins(d, row, failed, d.int_between(1, 2), d.int_between(1, 3), max(1, failed))
    row["commands"] = max(3, d.count(3.0, 1.0))
    row["downloads"] = d.int_between(1, 6)
    traffic(d, row, 0.5, 2_000, 20_000)
    row["bytesIn"] += row["downloads"] * d.total(600_000, 1.5)
    alerts(d, row, 0.3, 2, 3)


def k8s_secret_harvest(d: Draw, row: dict[str, int]) -> None:
    row["auditRequests"] = max(3, d.count(6.0, 1.3))
    row["secretReads"] = max(1, int(d.rng.binomial(row["auditRequests"], d.share(3, 3))))
    row["auditForbidden"] = int(d.rng.binomial(row["auditRequests"], d.share(1.5, 5))) if d.chance(0.8) else 0
    row["execs"] = d.count(0.3, 1.0) if d.chance(0.3) else 0
    traffic(d, row, 0.8, 2_000, 30_000)


def web_attack(d: Draw, row: dict[str, int]) -> None:
    http(d, row, 20.0, 1.3, 4, 3)
    row["flows"] = max(1, row["httpRequests"] // d.int_between(1, 5))
    row["distinctDestIps"] = d.int_between(1, 4)
    row["distinctDestPorts"] = d.int_between(1, 3)
    row["bytesOut"] = row["httpRequests"] * d.total(700, 0.5)
    row["bytesIn"] = row["httpRequests"] * d.total(3_000, 1.0)
    alerts(d, row, 0.55, 2, 3)


# weight within its class
BENIGN = {
    "web_user": (web_user, 0.22), "admin_ssh": (admin_ssh, 0.12), "monitoring": (monitoring, 0.10),
    "k8s_controller": (k8s_controller, 0.12), "ci_deployer": (ci_deployer, 0.07), "backup_job": (backup_job, 0.06),
    "forgot_password": (forgot_password, 0.09), "crawler": (crawler, 0.08), "noisy_ids": (noisy_ids, 0.07),
    "nat_gateway": (nat_gateway, 0.07),
}
ATTACK = {
    "brute_force": (brute_force, 0.18), "password_spray": (password_spray, 0.12), "port_scan": (port_scan, 0.17),
    "exfiltration": (exfiltration, 0.11), "post_login_download": (post_login_download, 0.15),
    "k8s_secret_harvest": (k8s_secret_harvest, 0.13), "web_attack": (web_attack, 0.14),
}
ATTACK_SHARE = 0.35


def _pick(rng: np.random.Generator, table: dict) -> str:
    names = list(table)
    weights = np.array([table[n][1] for n in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def generate(rows: int, seed: int) -> list[dict]:
    """Rows of {"scenario", "label" (1 = attack), "behaviour" (SourceBehaviour)}."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(rows):
        label = int(rng.random() < ATTACK_SHARE)
        table = ATTACK if label else BENIGN
        scenario = _pick(rng, table)
        window = int(rng.choice(WINDOWS))
        row = blank(window)
        table[scenario][0](Draw(rng, window), row)
        # other events (DNS, TLS, generic) that carry no signal of their own
        row["events"] = (
            row["failedLogins"] + row["successfulLogins"] + row["commands"] + row["downloads"] + row["flows"]
            + row["alerts"] + row["httpRequests"] + row["auditRequests"] + int(rng.poisson(2.0 * window / 60))
        )
        out.append({"scenario": scenario, "label": label, "behaviour": row})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for row in generate(args.rows, args.seed):
        sys.stdout.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

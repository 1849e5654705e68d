// Where the servers listen by default: every address, IPv6 and IPv4. On Linux a socket bound to "::" also takes IPv4
// (net.ipv6.bindv6only is 0 by default), while one bound to 0.0.0.0 never takes IPv6: on an IPv6-only cluster (EKS in
// IPv6 mode, say) the kubelet probes the pod's IPv6 address and a server on 0.0.0.0 never became ready.

/** Every address, IPv6 and IPv4. */
export const anyAddress = "::";

/** Errors of binding "::" on a kernel without IPv6 (booted with ipv6.disable=1). */
const noIpv6 = new Set(["EAFNOSUPPORT", "EADDRNOTAVAIL"]);

/** Listens on `host`; "::" falls back to 0.0.0.0 where the kernel has no IPv6. Returns the host it listens on. */
export async function listenOn(host: string, listen: (host: string) => Promise<unknown>): Promise<string> {
  try {
    await listen(host);
    return host;
  } catch (err) {
    if (host !== anyAddress || !noIpv6.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
    await listen("0.0.0.0");
    return "0.0.0.0";
  }
}

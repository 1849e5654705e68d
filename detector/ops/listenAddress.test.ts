import { connect, createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { anyAddress, listenOn } from "./listenAddress.ts";

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r)))));

const listenTcp = (host: string) => new Promise<Server>((resolve, reject) => {
  const s = createServer((c) => c.destroy());
  servers.push(s);
  s.once("error", reject).listen(0, host, () => resolve(s));
});
const port = (s: Server) => (s.address() as { port: number }).port;
/** "connected", or the connection's error code. */
const reply = (host: string, p: number) => new Promise<string>((resolve) => {
  const socket = connect({ host, port: p });
  socket.once("connect", () => (socket.destroy(), resolve("connected")));
  socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
});

describe("listening on every address", () => {
  it("takes IPv6 and IPv4 connections on \"::\", where 0.0.0.0 refuses IPv6", async () => {
    let server: Server | undefined;
    expect(await listenOn(anyAddress, async (h) => (server = await listenTcp(h)))).toBe("::");
    expect(await reply("127.0.0.1", port(server!))).toBe("connected");
    expect(await reply("::1", port(server!))).toBe("connected");
    const v4 = await listenTcp("0.0.0.0");
    expect(await reply("::1", port(v4))).toBe("ECONNREFUSED");
  });

  it("falls back to 0.0.0.0 where the kernel has no IPv6, and only then", async () => {
    const tried: string[] = [];
    const noIpv6 = (h: string) => {
      tried.push(h);
      return h === "::" ? Promise.reject(Object.assign(new Error("bind"), { code: "EAFNOSUPPORT" })) : Promise.resolve();
    };
    expect(await listenOn(anyAddress, noIpv6)).toBe("0.0.0.0");
    expect(tried).toEqual(["::", "0.0.0.0"]);
    const inUse = () => Promise.reject(Object.assign(new Error("bind"), { code: "EADDRINUSE" }));
    await expect(listenOn(anyAddress, inUse)).rejects.toThrow("bind");
    await expect(listenOn("10.0.0.1", noIpv6)).resolves.toBe("10.0.0.1");
  });
});

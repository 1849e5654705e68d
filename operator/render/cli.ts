// `minixdr render FILE`: the objects the operator would create for a MiniXdr file, with no cluster, for review.
import { readFileSync } from "node:fs";
import { withDefaults } from "../api/minixdr.ts";
import { miniXdrLabel, readMiniXdrs, toYaml } from "./manifest.ts";
import { render, type PodUserIds } from "./render.ts";

/** The children of every MiniXdr in the file, in its order; nothing when any of them is refused (which is named). */
export function renderFile(path: string, namespace?: string, podUserIds: PodUserIds = "fixed"): string {
  const crs = readMiniXdrs(readFileSync(path, "utf8"), namespace ?? "default", "<uid of the MiniXdr>");
  return crs.map((cr, i) => {
    try {
      // As kubectl apply -n refuses an object of another namespace.
      if (namespace !== undefined && cr.metadata.namespace !== namespace) {
        throw new Error(`metadata.namespace is ${cr.metadata.namespace}, but --namespace says ${namespace}`);
      }
      return toYaml(render(cr, withDefaults(cr.spec), { podUserIds }));
    } catch (err) {
      throw crs.length > 1 ? new Error(`${miniXdrLabel(cr, i)}: ${(err as Error).message}`) : err;
    }
  }).join("---\n");
}

const usage = "usage: minixdr render FILE [--namespace NS | -n NS] [--pod-user-ids fixed|platform]\n" +
  "  --pod-user-ids platform: as the operator renders on OpenShift (no fixed uid, gid or fsGroup); default fixed";

/** FILE, the namespace and the pod user ids; undefined (after saying why) for anything else: an unknown flag, a flag without its value, a second file. */
export function renderArgs(argv: string[], fail: (message: string) => void): { file: string; namespace: string | undefined; podUserIds: PodUserIds } | undefined {
  let file: string | undefined;
  let namespace: string | undefined;
  let podUserIds: PodUserIds = "fixed";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const inline = /^--namespace=(.*)$/.exec(a);
    const ids = /^--pod-user-ids(?:=(.*))?$/.exec(a);
    if (inline || a === "-n" || a === "--namespace") {
      const value = inline ? inline[1] : argv[++i];
      if (!value || value.startsWith("-")) return void fail(`${a.split("=")[0]} needs a namespace\n${usage}`);
      namespace = value;
    } else if (ids) {
      const value = ids[1] ?? argv[++i];
      if (value !== "fixed" && value !== "platform") return void fail(`--pod-user-ids takes fixed or platform${value === undefined ? "" : `, not ${JSON.stringify(value)}`}\n${usage}`);
      podUserIds = value;
    } else if (a.startsWith("-")) {
      return void fail(`unknown flag ${a}\n${usage}`);
    } else if (file !== undefined) {
      return void fail(`one file at a time (got ${file} and ${a})\n${usage}`);
    } else {
      file = a;
    }
  }
  if (file === undefined) return void fail(usage);
  return { file, namespace, podUserIds };
}

export function renderMain(argv: string[]): void {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(usage);
    return;
  }
  const args = renderArgs(argv, (message) => {
    console.error(message);
    process.exit(2);
  });
  if (!args) return;
  try {
    process.stdout.write(renderFile(args.file, args.namespace, args.podUserIds));
  } catch (err) {
    console.error(`${args.file}: ${(err as Error).message}`);
    process.exit(1);
  }
}

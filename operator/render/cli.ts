// `minixdr render FILE`: the objects the operator would create for a MiniXdr file, with no cluster, for review.
import { readFileSync } from "node:fs";
import { withDefaults } from "../api/minixdr.ts";
import { readMiniXdr, toYaml } from "./manifest.ts";
import { render } from "./render.ts";

export function renderFile(path: string, namespace = "default"): string {
  const cr = readMiniXdr(readFileSync(path, "utf8"), namespace, "<uid of the MiniXdr>");
  return toYaml(render(cr, withDefaults(cr.spec)));
}

export function renderMain(argv: string[]): void {
  const [file, ...rest] = argv;
  const nsFlag = rest.findIndex((a) => a === "-n" || a === "--namespace");
  if (!file || file.startsWith("-")) {
    console.error("usage: minixdr render FILE [--namespace NS]");
    process.exit(2);
  }
  try {
    process.stdout.write(renderFile(file, nsFlag >= 0 ? rest[nsFlag + 1] : undefined));
  } catch (err) {
    console.error(`${file}: ${(err as Error).message}`);
    process.exit(1);
  }
}

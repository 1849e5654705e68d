// The single-page app's files, read once at start-up (the root filesystem is read-only); TypeScript modules are served with types stripped.
import { readdir, readFile } from "node:fs/promises";
import { stripTypeScriptTypes } from "node:module";
import { extname, join } from "node:path";

export interface Asset {
  body: string;
  contentType: string;
}

export const staticDir = join(import.meta.dirname, "static");

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".ts": "text/javascript; charset=utf-8",
};

/** Node 24 flags stripTypeScriptTypes as experimental on first use: a known, non-actionable line that would break JSON logs. */
function stripTypes(source: string): string {
  const emitWarning = Object.getOwnPropertyDescriptor(process, "emitWarning");
  process.emitWarning = () => undefined;
  try {
    return stripTypeScriptTypes(source, { mode: "strip" });
  } finally {
    if (emitWarning) Object.defineProperty(process, "emitWarning", emitWarning);
  }
}

/** Every servable file in `dir` by name; tests and `.d.ts` files are left out. */
export async function loadAssets(dir: string = staticDir): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const name of (await readdir(dir)).sort()) {
    const contentType = contentTypes[extname(name)];
    if (!contentType || name.endsWith(".test.ts") || name.endsWith(".d.ts")) continue;
    const source = await readFile(join(dir, name), "utf8");
    // Browsers run the module as JavaScript; imports keep their `.ts` names and come back here with the JavaScript type.
    assets.set(name, { body: name.endsWith(".ts") ? stripTypes(source) : source, contentType });
  }
  return assets;
}

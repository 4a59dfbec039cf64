/** The JSON-file backend of ClientState (Node only; browsers use ./idb.ts). */

import type { KvBackend } from "./state.js";

/** A JSON file (Node only): rewritten atomically after each change. */
export async function fileBackend(path: string): Promise<KvBackend> {
  const fs = await import("node:fs/promises");
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(await fs.readFile(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return {
    get: async (key) => data[key],
    put: async (key, value) => {
      data[key] = value;
      const tmp = `${path}.tmp-${process.pid}`;
      await fs.writeFile(tmp, JSON.stringify(data));
      await fs.rename(tmp, path);
    },
  };
}

/** The IndexedDB backend of ClientState for browsers (through the small `idb` wrapper). */

import { openDB } from "idb";
import type { KvBackend } from "./state.js";

export async function indexedDbBackend(name = "glasskey"): Promise<KvBackend> {
  const db = await openDB(name, 1, {
    upgrade(database) {
      database.createObjectStore("kv");
    },
  });
  return {
    get: (key) => db.get("kv", key),
    put: async (key, value) => {
      await db.put("kv", value, key);
    },
  };
}

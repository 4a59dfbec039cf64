/** Forget every memoised verification (benchmarks measure cold verification with it). */
import { clearKeyCache } from "./ecvrf.js";
import { clearEd25519Cache } from "./ed25519.js";
import { clearCheckpointCache } from "./log/note.js";

export function clearVerifierCaches(): void {
  clearKeyCache();
  clearCheckpointCache();
  clearEd25519Cache();
}

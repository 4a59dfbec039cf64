/** Forget every memoised verification (benchmarks measure cold verification with it). */
import { clearKeyCache } from "./ecvrf.js";
import { clearCheckpointCache } from "./log/note.js";

export function clearVerifierCaches(): void {
  clearKeyCache();
  clearCheckpointCache();
}

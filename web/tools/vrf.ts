/**
 * The Node half of tests/web/test_vrf_edges.py: verifies each (public key, proof, alpha) of a
 * JSON file with glasskey-web and prints, per case, beta in hex or "rejected".
 */

import { readFileSync } from "node:fs";
import { fromHex, toHex } from "../src/bytes.js";
import { VrfError } from "../src/errors.js";
import { VrfPublicKey } from "../src/ecvrf.js";

const cases = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { pk: string; proof: string; alpha: string }[];
const out = cases.map((c) => {
  try {
    return toHex(new VrfPublicKey(fromHex(c.pk)).verify(fromHex(c.proof), fromHex(c.alpha)));
  } catch (err) {
    if (err instanceof VrfError) return "rejected";
    return `crash:${String(err)}`;
  }
});
process.stdout.write(JSON.stringify(out) + "\n");

/**
 * Protobuf decoding of AKD proofs, validated exactly like glasskey.core.akd.wire: required
 * fields, 32-byte digests, label sizes, exactly one sibling per level and direction 0 or 1,
 * exactly two non-membership children. Every failure, whatever the bytes, is a
 * MalformedError. The message types are those @bufbuild/protobuf generates from the project's
 * own akd.proto (src/gen/akd_pb.ts, `npm run gen`); the wire is read with its BinaryReader.
 */

import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { MalformedError } from "../errors.js";
import type * as pb from "../gen/akd_pb.js";
import type { NodeLabel } from "./label.js";

export const MAX_PROOF_BYTES = 4 * 1024 * 1024;

export interface AzksElement {
  readonly label: NodeLabel;
  readonly value: Uint8Array;
}
export interface SiblingProof {
  readonly label: NodeLabel;
  readonly sibling: AzksElement;
  readonly direction: 0 | 1;
}
export interface MembershipProof {
  readonly label: NodeLabel;
  readonly hashVal: Uint8Array;
  readonly siblingProofs: readonly SiblingProof[];
}
export interface NonMembershipProof {
  readonly label: NodeLabel;
  readonly longestPrefix: NodeLabel;
  readonly children: readonly [AzksElement, AzksElement];
  readonly membership: MembershipProof;
}
export interface LookupProof {
  readonly epoch: bigint;
  readonly value: Uint8Array;
  readonly version: bigint;
  readonly existenceVrfProof: Uint8Array;
  readonly existenceProof: MembershipProof;
  readonly markerVrfProof: Uint8Array;
  readonly markerProof: MembershipProof;
  readonly freshnessVrfProof: Uint8Array;
  readonly freshnessProof: NonMembershipProof;
  readonly commitmentNonce: Uint8Array;
}
export interface UpdateProof {
  readonly epoch: bigint;
  readonly value: Uint8Array;
  readonly version: bigint;
  readonly existenceVrfProof: Uint8Array;
  readonly existenceProof: MembershipProof;
  readonly previousVersionVrfProof: Uint8Array | null;
  readonly previousVersionProof: MembershipProof | null;
  readonly commitmentNonce: Uint8Array;
}
export interface HistoryProof {
  readonly updateProofs: readonly UpdateProof[];
  readonly pastMarkerVrfProofs: readonly Uint8Array[];
  readonly existenceOfPastMarkerProofs: readonly MembershipProof[];
  readonly futureMarkerVrfProofs: readonly Uint8Array[];
  readonly nonExistenceOfFutureMarkerProofs: readonly NonMembershipProof[];
}

// -- decoding ---------------------------------------------------------------------------------
//
// A small table-driven decoder over @bufbuild/protobuf's BinaryReader, with upb's semantics
// (what the Python verifier uses): unknown fields are skipped, a known field arriving with
// another wire type is an unknown field, a singular message seen twice is merged, a scalar
// seen twice keeps the last value, and presence is tracked per field. Why not
// `fromBinary`: it reads a known field as its declared type whatever the wire type (bytes
// upb ignores), and its reflection runtime (descriptor.proto, registry) would double the size
// of the browser bundle. The field tables mirror akd.proto; the message types above and the
// generated ../gen/akd_pb.ts (used for its types) come from the same file, and the
// cross-language differential test compares the two decoders on every single-byte tamper.

type Kind = "bytes" | "uint32" | "uint64" | Spec;
interface Field { readonly name: string; readonly kind: Kind; readonly repeated?: boolean }
type Spec = { readonly [no: number]: Field };
type Decoded = { $set: Set<string>; [name: string]: unknown };

const LABEL: Spec = { 1: { name: "labelVal", kind: "bytes" }, 2: { name: "labelLen", kind: "uint32" } };
const ELEMENT: Spec = { 1: { name: "label", kind: LABEL }, 2: { name: "value", kind: "bytes" } };
const SIBLING: Spec = {
  1: { name: "label", kind: LABEL }, 2: { name: "siblings", kind: ELEMENT, repeated: true }, 3: { name: "direction", kind: "uint32" },
};
const MEMBERSHIP: Spec = {
  1: { name: "label", kind: LABEL }, 2: { name: "hashVal", kind: "bytes" }, 3: { name: "siblingProofs", kind: SIBLING, repeated: true },
};
const NON_MEMBERSHIP: Spec = {
  1: { name: "label", kind: LABEL }, 2: { name: "longestPrefix", kind: LABEL },
  3: { name: "longestPrefixChildren", kind: ELEMENT, repeated: true }, 4: { name: "longestPrefixMembershipProof", kind: MEMBERSHIP },
};
const LOOKUP: Spec = {
  1: { name: "epoch", kind: "uint64" }, 2: { name: "value", kind: "bytes" }, 3: { name: "version", kind: "uint64" },
  4: { name: "existenceVrfProof", kind: "bytes" }, 5: { name: "existenceProof", kind: MEMBERSHIP },
  6: { name: "markerVrfProof", kind: "bytes" }, 7: { name: "markerProof", kind: MEMBERSHIP },
  8: { name: "freshnessVrfProof", kind: "bytes" }, 9: { name: "freshnessProof", kind: NON_MEMBERSHIP },
  10: { name: "commitmentNonce", kind: "bytes" },
};
const UPDATE: Spec = {
  1: { name: "epoch", kind: "uint64" }, 2: { name: "value", kind: "bytes" }, 3: { name: "version", kind: "uint64" },
  4: { name: "existenceVrfProof", kind: "bytes" }, 5: { name: "existenceProof", kind: MEMBERSHIP },
  6: { name: "previousVersionVrfProof", kind: "bytes" }, 7: { name: "previousVersionProof", kind: MEMBERSHIP },
  8: { name: "commitmentNonce", kind: "bytes" },
};
const HISTORY: Spec = {
  1: { name: "updateProofs", kind: UPDATE, repeated: true }, 2: { name: "pastMarkerVrfProofs", kind: "bytes", repeated: true },
  3: { name: "existenceOfPastMarkerProofs", kind: MEMBERSHIP, repeated: true },
  4: { name: "futureMarkerVrfProofs", kind: "bytes", repeated: true },
  5: { name: "nonExistenceOfFutureMarkerProofs", kind: NON_MEMBERSHIP, repeated: true },
};

function empty(spec: Spec): Decoded {
  const out: Decoded = { $set: new Set() };
  for (const f of Object.values(spec)) if (f.repeated) out[f.name] = [];
  return out;
}

function decodeInto(spec: Spec, data: Uint8Array, out: Decoded, depth: number): Decoded {
  if (depth > 100) throw new Error("maximum recursion depth reached");
  const reader = new BinaryReader(data);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    const field = spec[no];
    const expected = field === undefined ? -1 : field.kind === "uint32" || field.kind === "uint64" ? WireType.Varint : WireType.LengthDelimited;
    if (field === undefined || wireType !== expected) {
      reader.skip(wireType, no);
      continue;
    }
    let value: unknown;
    if (field.kind === "uint32") value = reader.uint32();
    else if (field.kind === "uint64") value = BigInt(reader.uint64());
    else if (field.kind === "bytes") value = Uint8Array.from(reader.bytes());
    else {
      const inner = reader.bytes();
      const target = !field.repeated && out.$set.has(field.name) ? (out[field.name] as Decoded) : empty(field.kind);
      value = decodeInto(field.kind, inner, target, depth + 1);
    }
    if (field.repeated) (out[field.name] as unknown[]).push(value);
    else out[field.name] = value;
    out.$set.add(field.name);
  }
  return out;
}

function parse(spec: Spec, data: Uint8Array, what: string): Decoded {
  if (data.length > MAX_PROOF_BYTES) {
    throw new MalformedError(`${what}: ${data.length} bytes exceeds the limit of ${MAX_PROOF_BYTES}`);
  }
  try {
    return decodeInto(spec, data, empty(spec), 0);
  } catch (exc) {
    throw new MalformedError(`${what}: not a valid protobuf message (${String(exc)})`);
  }
}

// -- conversion with akd's TryFrom validation ----------------------------------------------

function req(m: Decoded, field: string, what: string): void {
  if (!m.$set.has(field)) throw new MalformedError(`${what}: required field '${field}' is missing`);
}

function digest(data: Uint8Array, what: string): Uint8Array {
  if (data.length !== 32) {
    throw new MalformedError(`${what}: failed to parse digest, expected 32 bytes but the value has ${data.length} bytes`);
  }
  return data;
}

/** A decoded message as the generated type (fields present or not: check `$set` first). */
type As<T> = Omit<T, "$typeName" | "$unknown"> & Decoded;

function nodeLabel(d: Decoded, what: string): NodeLabel {
  const m = d as As<pb.NodeLabel>;
  req(m, "labelVal", what);
  req(m, "labelLen", what);
  if (m.labelVal.length > 32) throw new MalformedError(`${what}: label value is too long: ${m.labelVal.length}`);
  if (m.labelLen > 256) throw new MalformedError(`${what}: label length ${m.labelLen} exceeds 256 bits`);
  const val = new Uint8Array(32);
  val.set(m.labelVal);
  return { val, length: m.labelLen };
}

function element(d: Decoded, what: string): AzksElement {
  const m = d as As<pb.AzksElement>;
  req(m, "label", what);
  req(m, "value", what);
  return { label: nodeLabel(m.label as unknown as Decoded, what + ".label"), value: digest(m.value, what) };
}

function sibling(d: Decoded, what: string): SiblingProof {
  const m = d as As<pb.SiblingProof>;
  req(m, "label", what);
  req(m, "direction", what);
  if (m.siblings.length !== 1) throw new MalformedError(`${what}: expected exactly one sibling, got ${m.siblings.length}`);
  if (m.direction > 1) throw new MalformedError(`${what}: invalid direction ${m.direction} (must be 0 or 1)`);
  const label = nodeLabel(m.label as unknown as Decoded, what + ".label");
  return { label, sibling: element(m.siblings[0] as unknown as Decoded, what + ".siblings"), direction: m.direction as 0 | 1 };
}

function membership(d: Decoded, what: string): MembershipProof {
  const m = d as As<pb.MembershipProof>;
  req(m, "label", what);
  req(m, "hashVal", what);
  const label = nodeLabel(m.label as unknown as Decoded, what + ".label");
  const hashVal = digest(m.hashVal, what + ".hash_val");
  const siblings = m.siblingProofs as unknown as Decoded[];
  return { label, hashVal, siblingProofs: siblings.map((sp, i) => sibling(sp, `${what}.sibling_proofs[${i}]`)) };
}

function nonMembership(d: Decoded, what: string): NonMembershipProof {
  const m = d as As<pb.NonMembershipProof>;
  req(m, "label", what);
  req(m, "longestPrefix", what);
  req(m, "longestPrefixMembershipProof", what);
  const children = m.longestPrefixChildren as unknown as Decoded[];
  if (children.length !== 2) {
    throw new MalformedError(`${what}: expected exactly 2 longest-prefix children, got ${children.length}`);
  }
  const [l, r] = children.map((c) => element(c, `${what}.longest_prefix_children`));
  return {
    label: nodeLabel(m.label as unknown as Decoded, what + ".label"),
    longestPrefix: nodeLabel(m.longestPrefix as unknown as Decoded, what + ".longest_prefix"),
    children: [l!, r!],
    membership: membership(m.longestPrefixMembershipProof as unknown as Decoded, what + ".membership_proof"),
  };
}

/** akd's `NonMembershipProof` alone (the tree part of a proof of absence). */
export function decodeNonMembershipProof(data: Uint8Array): NonMembershipProof {
  return nonMembership(parse(NON_MEMBERSHIP, data, "NonMembershipProof"), "NonMembershipProof");
}

export function decodeLookupProof(data: Uint8Array): LookupProof {
  const what = "LookupProof";
  const m = parse(LOOKUP, data, what) as As<pb.LookupProof>;
  for (const f of ["epoch", "value", "version", "existenceVrfProof", "existenceProof", "markerVrfProof",
    "markerProof", "freshnessVrfProof", "freshnessProof", "commitmentNonce"]) {
    req(m, f, what);
  }
  return {
    epoch: m.epoch,
    value: m.value,
    version: m.version,
    existenceVrfProof: m.existenceVrfProof,
    existenceProof: membership(m.existenceProof as unknown as Decoded, what + ".existence_proof"),
    markerVrfProof: m.markerVrfProof,
    markerProof: membership(m.markerProof as unknown as Decoded, what + ".marker_proof"),
    freshnessVrfProof: m.freshnessVrfProof,
    freshnessProof: nonMembership(m.freshnessProof as unknown as Decoded, what + ".freshness_proof"),
    commitmentNonce: m.commitmentNonce,
  };
}

function update(d: Decoded, what: string): UpdateProof {
  const m = d as As<pb.UpdateProof>;
  for (const f of ["epoch", "value", "version", "existenceVrfProof", "existenceProof", "commitmentNonce"]) {
    req(m, f, what);
  }
  return {
    epoch: m.epoch,
    value: m.value,
    version: m.version,
    existenceVrfProof: m.existenceVrfProof,
    existenceProof: membership(m.existenceProof as unknown as Decoded, what + ".existence_proof"),
    previousVersionVrfProof: m.$set.has("previousVersionVrfProof") ? m.previousVersionVrfProof : null,
    previousVersionProof: m.$set.has("previousVersionProof")
      ? membership(m.previousVersionProof as unknown as Decoded, what + ".previous_version_proof")
      : null,
    commitmentNonce: m.commitmentNonce,
  };
}

export function decodeHistoryProof(data: Uint8Array): HistoryProof {
  const m = parse(HISTORY, data, "HistoryProof") as As<pb.HistoryProof>;
  const list = (v: unknown): Decoded[] => v as Decoded[];
  return {
    updateProofs: list(m.updateProofs).map((u, i) => update(u, `HistoryProof.update_proofs[${i}]`)),
    pastMarkerVrfProofs: m.pastMarkerVrfProofs,
    existenceOfPastMarkerProofs: list(m.existenceOfPastMarkerProofs).map((p) => membership(p, "HistoryProof.existence_of_past_marker_proofs")),
    futureMarkerVrfProofs: m.futureMarkerVrfProofs,
    nonExistenceOfFutureMarkerProofs: list(m.nonExistenceOfFutureMarkerProofs).map((p) =>
      nonMembership(p, "HistoryProof.non_existence_of_future_marker_proofs")),
  };
}

/**
 * Protobuf decoding of AKD proofs with the code @bufbuild/protobuf generates from the
 * project's own akd.proto, validated exactly like glasskey.core.akd.wire: required fields,
 * 32-byte digests, label sizes, exactly one sibling per level and direction 0 or 1, exactly
 * two non-membership children. Every failure, whatever the bytes, is a MalformedError.
 *
 * One pre-pass makes the decoder behave like the Python one (upb) on hostile bytes: a known
 * field arriving with the wrong wire type is an *unknown* field to upb (ignored), whereas
 * @bufbuild/protobuf would read it as the declared type. `normalize` drops such fields
 * (recursively) before `fromBinary`, so both verifiers see the same message.
 */

import { fromBinary, isFieldSet, ScalarType, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { MalformedError } from "../errors.js";
import * as pb from "../gen/akd_pb.js";
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

// -- the upb-compatible pre-pass -------------------------------------------------------------

function expectedWireTypes(field: DescMessage["fields"][number]): WireType[] {
  if (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) {
    return [WireType.LengthDelimited];
  }
  const scalar = field.fieldKind === "scalar" ? field.scalar : field.fieldKind === "list" && field.listKind === "scalar" ? field.scalar : null;
  if (scalar === ScalarType.BYTES || scalar === ScalarType.STRING) return [WireType.LengthDelimited];
  if (field.fieldKind === "list") return [WireType.Varint, WireType.LengthDelimited]; // packed or not
  return [WireType.Varint];
}

function normalize(desc: DescMessage, data: Uint8Array, depth = 0): Uint8Array {
  if (depth > 100) throw new Error("maximum recursion depth reached");
  const reader = new BinaryReader(data);
  const writer = new BinaryWriter();
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [fieldNo, wireType] = reader.tag();
    const field = desc.fields.find((f) => f.number === fieldNo);
    if (field === undefined || !expectedWireTypes(field).includes(wireType)) {
      reader.skip(wireType, fieldNo);
      continue; // unknown to upb: ignored
    }
    const sub = field.fieldKind === "message" ? field.message : field.fieldKind === "list" && field.listKind === "message" ? field.message : null;
    if (sub !== null) {
      const length = reader.uint32();
      const end = reader.pos + length;
      if (end > reader.len) throw new RangeError("premature EOF");
      const inner = normalize(sub, data.subarray(reader.pos, end), depth + 1);
      reader.pos = end;
      writer.tag(fieldNo, WireType.LengthDelimited).bytes(inner);
    } else {
      reader.skip(wireType, fieldNo);
      writer.raw(data.subarray(start, reader.pos));
    }
  }
  return writer.finish();
}

function parse<D extends DescMessage>(schema: D, data: Uint8Array, what: string) {
  if (data.length > MAX_PROOF_BYTES) {
    throw new MalformedError(`${what}: ${data.length} bytes exceeds the limit of ${MAX_PROOF_BYTES}`);
  }
  try {
    return fromBinary(schema, normalize(schema, data));
  } catch (exc) {
    throw new MalformedError(`${what}: not a valid protobuf message (${String(exc)})`);
  }
}

// -- conversion with akd's TryFrom validation ----------------------------------------------

function req(message: object, schema: DescMessage, field: string, what: string): void {
  const desc = schema.fields.find((f) => f.localName === field);
  if (desc === undefined || !isFieldSet(message as never, desc)) {
    throw new MalformedError(`${what}: required field '${desc?.name ?? field}' is missing`);
  }
}

function digest(data: Uint8Array, what: string): Uint8Array {
  if (data.length !== 32) {
    throw new MalformedError(`${what}: failed to parse digest, expected 32 bytes but the value has ${data.length} bytes`);
  }
  return data;
}

function nodeLabel(m: pb.NodeLabel, what: string): NodeLabel {
  req(m, pb.NodeLabelSchema, "labelVal", what);
  req(m, pb.NodeLabelSchema, "labelLen", what);
  if (m.labelVal.length > 32) throw new MalformedError(`${what}: label value is too long: ${m.labelVal.length}`);
  if (m.labelLen > 256) throw new MalformedError(`${what}: label length ${m.labelLen} exceeds 256 bits`);
  const val = new Uint8Array(32);
  val.set(m.labelVal);
  return { val, length: m.labelLen };
}

function element(m: pb.AzksElement, what: string): AzksElement {
  req(m, pb.AzksElementSchema, "label", what);
  req(m, pb.AzksElementSchema, "value", what);
  return { label: nodeLabel(m.label!, what + ".label"), value: digest(m.value, what) };
}

function sibling(m: pb.SiblingProof, what: string): SiblingProof {
  req(m, pb.SiblingProofSchema, "label", what);
  req(m, pb.SiblingProofSchema, "direction", what);
  if (m.siblings.length !== 1) throw new MalformedError(`${what}: expected exactly one sibling, got ${m.siblings.length}`);
  if (m.direction > 1) throw new MalformedError(`${what}: invalid direction ${m.direction} (must be 0 or 1)`);
  const label = nodeLabel(m.label!, what + ".label");
  return { label, sibling: element(m.siblings[0]!, what + ".siblings"), direction: m.direction as 0 | 1 };
}

function membership(m: pb.MembershipProof, what: string): MembershipProof {
  req(m, pb.MembershipProofSchema, "label", what);
  req(m, pb.MembershipProofSchema, "hashVal", what);
  const label = nodeLabel(m.label!, what + ".label");
  const hashVal = digest(m.hashVal, what + ".hash_val");
  return { label, hashVal, siblingProofs: m.siblingProofs.map((sp, i) => sibling(sp, `${what}.sibling_proofs[${i}]`)) };
}

function nonMembership(m: pb.NonMembershipProof, what: string): NonMembershipProof {
  req(m, pb.NonMembershipProofSchema, "label", what);
  req(m, pb.NonMembershipProofSchema, "longestPrefix", what);
  req(m, pb.NonMembershipProofSchema, "longestPrefixMembershipProof", what);
  if (m.longestPrefixChildren.length !== 2) {
    throw new MalformedError(`${what}: expected exactly 2 longest-prefix children, got ${m.longestPrefixChildren.length}`);
  }
  const [l, r] = m.longestPrefixChildren.map((c) => element(c, `${what}.longest_prefix_children`));
  return {
    label: nodeLabel(m.label!, what + ".label"),
    longestPrefix: nodeLabel(m.longestPrefix!, what + ".longest_prefix"),
    children: [l!, r!],
    membership: membership(m.longestPrefixMembershipProof!, what + ".membership_proof"),
  };
}

export function decodeLookupProof(data: Uint8Array): LookupProof {
  const what = "LookupProof";
  const m = parse(pb.LookupProofSchema, data, what);
  for (const f of ["epoch", "value", "version", "existenceVrfProof", "existenceProof", "markerVrfProof",
    "markerProof", "freshnessVrfProof", "freshnessProof", "commitmentNonce"]) {
    req(m, pb.LookupProofSchema, f, what);
  }
  return {
    epoch: m.epoch,
    value: m.value,
    version: m.version,
    existenceVrfProof: m.existenceVrfProof,
    existenceProof: membership(m.existenceProof!, what + ".existence_proof"),
    markerVrfProof: m.markerVrfProof,
    markerProof: membership(m.markerProof!, what + ".marker_proof"),
    freshnessVrfProof: m.freshnessVrfProof,
    freshnessProof: nonMembership(m.freshnessProof!, what + ".freshness_proof"),
    commitmentNonce: m.commitmentNonce,
  };
}

function update(m: pb.UpdateProof, what: string): UpdateProof {
  for (const f of ["epoch", "value", "version", "existenceVrfProof", "existenceProof", "commitmentNonce"]) {
    req(m, pb.UpdateProofSchema, f, what);
  }
  const field = (name: string) => pb.UpdateProofSchema.fields.find((f) => f.localName === name)!;
  return {
    epoch: m.epoch,
    value: m.value,
    version: m.version,
    existenceVrfProof: m.existenceVrfProof,
    existenceProof: membership(m.existenceProof!, what + ".existence_proof"),
    previousVersionVrfProof: isFieldSet(m, field("previousVersionVrfProof")) ? m.previousVersionVrfProof : null,
    previousVersionProof: isFieldSet(m, field("previousVersionProof"))
      ? membership(m.previousVersionProof!, what + ".previous_version_proof")
      : null,
    commitmentNonce: m.commitmentNonce,
  };
}

export function decodeHistoryProof(data: Uint8Array): HistoryProof {
  const m = parse(pb.HistoryProofSchema, data, "HistoryProof");
  return {
    updateProofs: m.updateProofs.map((u, i) => update(u, `HistoryProof.update_proofs[${i}]`)),
    pastMarkerVrfProofs: m.pastMarkerVrfProofs,
    existenceOfPastMarkerProofs: m.existenceOfPastMarkerProofs.map((p) => membership(p, "HistoryProof.existence_of_past_marker_proofs")),
    futureMarkerVrfProofs: m.futureMarkerVrfProofs,
    nonExistenceOfFutureMarkerProofs: m.nonExistenceOfFutureMarkerProofs.map((p) =>
      nonMembership(p, "HistoryProof.non_existence_of_future_marker_proofs")),
  };
}

/**
 * The two facebook/akd configurations (whatsapp_v1 and experimental), as in
 * glasskey.core.akd.configuration: every hashing rule depends on the chosen configuration.
 * The hash is BLAKE3 (@noble/hashes; checked against the reference implementation's values
 * in test/blake3.test.ts), with the domain label prepended for Experimental.
 */

import { blake3 } from "@noble/hashes/blake3.js";
import { be64, concat } from "../bytes.js";
import { UsageError } from "../errors.js";

export const EXAMPLE_DOMAIN_LABEL = new TextEncoder().encode("ExampleLabel");
export type ConfigurationName = "whatsapp_v1" | "experimental";

/** akd's `i2osp_array`: an 8-byte big-endian length prefix, then the bytes. */
export function i2osp(data: Uint8Array): Uint8Array {
  return concat(be64(BigInt(data.length)), data);
}

export class Configuration {
  readonly isWhatsapp: boolean;
  readonly emptyLabelVal: Uint8Array;
  readonly rootLabelValue: Uint8Array;
  readonly emptyRootValue: Uint8Array;
  readonly staleAzksValue: Uint8Array;

  constructor(
    readonly name: ConfigurationName,
    readonly domainLabel: Uint8Array = new Uint8Array(0),
  ) {
    if (name !== "whatsapp_v1" && name !== "experimental") {
      throw new UsageError(`unknown configuration ${String(name)}; expected one of whatsapp_v1, experimental`);
    }
    if (name === "whatsapp_v1" && domainLabel.length) {
      throw new UsageError("the whatsapp_v1 configuration takes no domain label");
    }
    this.isWhatsapp = name === "whatsapp_v1";
    this.emptyLabelVal = this.isWhatsapp ? new Uint8Array(32).fill(1) : concat(Uint8Array.of(1), new Uint8Array(31));
    this.rootLabelValue = this.labelValue(new Uint8Array(36));
    this.emptyRootValue = this.isWhatsapp ? this.hash(Uint8Array.of(0)) : new Uint8Array(32);
    this.staleAzksValue = this.emptyRootValue;
  }

  hash(data: Uint8Array): Uint8Array {
    return blake3(this.domainLabel.length ? concat(this.domainLabel, data) : data);
  }

  /** What a node label (36-byte `BE32(len) || val`) contributes to its parent's hash. */
  labelValue(labelBytes: Uint8Array): Uint8Array {
    return this.isWhatsapp ? this.hash(labelBytes) : labelBytes;
  }

  parentHash(lv: Uint8Array, llv: Uint8Array, rv: Uint8Array, rlv: Uint8Array): Uint8Array {
    if (this.isWhatsapp) return this.hash(concat(this.hash(concat(lv, llv)), this.hash(concat(rv, rlv))));
    return this.hash(concat(lv, llv, rv, rlv));
  }

  rootHashFromValue(rootValue: Uint8Array): Uint8Array {
    return this.isWhatsapp ? this.hash(concat(rootValue, this.rootLabelValue)) : rootValue;
  }

  leafHash(raw: Uint8Array, epoch: bigint): Uint8Array {
    return this.hash(concat(raw, be64(epoch)));
  }

  commitment(value: Uint8Array, nonce: Uint8Array): Uint8Array {
    return this.hash(concat(i2osp(value), i2osp(nonce)));
  }

  vrfAlpha(akdLabel: Uint8Array, fresh: boolean, version: bigint): Uint8Array {
    return this.hash(concat(i2osp(akdLabel), Uint8Array.of(fresh ? 1 : 0), be64(version)));
  }
}

export const WHATSAPP_V1 = new Configuration("whatsapp_v1");
export const EXPERIMENTAL_EXAMPLE = new Configuration("experimental", EXAMPLE_DOMAIN_LABEL);

export function getConfiguration(name: string, domainLabel: Uint8Array | null = null): Configuration {
  if (name === "whatsapp_v1") {
    if (domainLabel && domainLabel.length) throw new UsageError("the whatsapp_v1 configuration takes no domain label");
    return WHATSAPP_V1;
  }
  if (name === "experimental") {
    if (domainLabel === null || (domainLabel.length === EXAMPLE_DOMAIN_LABEL.length &&
        domainLabel.every((b, i) => b === EXAMPLE_DOMAIN_LABEL[i]))) {
      return EXPERIMENTAL_EXAMPLE;
    }
    return new Configuration("experimental", domainLabel);
  }
  throw new UsageError(`unknown configuration ${name}; expected one of whatsapp_v1, experimental`);
}

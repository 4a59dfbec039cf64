/** glasskey-web: verify glasskey / AKD key-transparency answers in the browser and in Node. */
export * from "./errors.js";
export * from "./bytes.js";
export { VrfPublicKey, loadPublicKey, proofToHash, vrfVerify } from "./ecvrf.js";
export { preverifyEd25519, verifyEd25519, webCryptoEd25519, type Ed25519Signed } from "./ed25519.js";
export { Configuration, EXAMPLE_DOMAIN_LABEL, getConfiguration } from "./akd/config.js";
export { COMPLETE, keyHistoryVerify, lookupVerify, type HistoryParams, type VerifyResult } from "./akd/verify.js";
export { decodeHistoryProof, decodeLookupProof } from "./akd/wire.js";
export { markerVersion, markerVersions } from "./akd/markers.js";
export * from "./log/rfc6962.js";
export * from "./log/note.js";
export * from "./plexi.js";
export * from "./client/verify.js";
export * from "./client/state.js";
export * from "./client/client.js";
export { preverifySignatures } from "./client/preverify.js";
export { fileBackend } from "./client/file.js";
export { clearVerifierCaches } from "./caches.js";
export { indexedDbBackend } from "./client/idb.js";

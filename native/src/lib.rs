//! glasskey's optional native accelerator: the hot loops of the pure-Python package, computing
//! exactly the same functions (the Python code stays the reference and the fallback).
//!
//! * `vrf` — the ECVRF on curve25519-dalek (akd's curve library);
//! * `audit` — the append-only proof rebuild (sort, antichain rules, BLAKE3 trie fold);
//! * `proto` — lookup proofs' protobuf bytes written from the proof objects;
//! * `tree` — publish's tree insertion: the walk, the new nodes and the rehash;
//! * `commit` — publish's per-leaf commitments.

use pyo3::prelude::*;

mod audit;
mod commit;
mod proto;
mod rules;
mod tree;
mod vrf;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Bumped whenever the Python-visible interface changes; glasskey ignores a mismatched build.
    m.add("ABI_VERSION", 7)?;
    m.add_class::<vrf::SecretKey>()?;
    m.add_class::<vrf::PublicKey>()?;
    m.add_function(wrap_pyfunction!(vrf::proof_to_hash, m)?)?;
    m.add_function(wrap_pyfunction!(audit::append_only_roots, m)?)?;
    m.add_function(wrap_pyfunction!(proto::encode_lookup_proof, m)?)?;
    m.add_function(wrap_pyfunction!(proto::lookup_encoder_layouts, m)?)?;
    m.add_function(wrap_pyfunction!(tree::insert, m)?)?;
    m.add_function(wrap_pyfunction!(commit::leaf_commitments, m)?)?;
    Ok(())
}

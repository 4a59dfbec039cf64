//! `LookupProof` protobuf bytes written straight from glasskey's proof dataclasses: the
//! encoding of `glasskey.core.akd._pbwrite.lookup_body`, byte for byte (canonical layout:
//! fields in order, present-but-default fields written, label values without trailing zero
//! bytes). A lookup proof is ~45 nested messages; Python spent ~60 us building them.
//! Anything unexpected (an integer out of range, a missing attribute) raises, and glasskey
//! then runs the Python encoder, which raises its own error: `tests/core/test_akd_pbwrite.py`
//! compares all three encoders (upb, Python, native) on vectors and random proofs.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value > 0x7F {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Tag, length, body.
fn field(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Writes a sub-message in place: tag, a one-byte length slot, the body; a body of 128
/// bytes or more (the few big messages) moves right to make room for its longer length.
fn message(
    out: &mut Vec<u8>,
    tag: u8,
    body: impl FnOnce(&mut Vec<u8>) -> PyResult<()>,
) -> PyResult<()> {
    out.push(tag);
    let slot = out.len();
    out.push(0);
    body(out)?;
    let len = out.len() - slot - 1;
    if len < 0x80 {
        out[slot] = len as u8;
    } else {
        let mut prefix = Vec::with_capacity(10);
        varint(&mut prefix, len as u64);
        out.splice(slot..slot + 1, prefix);
    }
    Ok(())
}

fn bytes_attr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, pyo3::types::PyString>,
) -> PyResult<Bound<'py, PyBytes>> {
    Ok(obj.getattr(name)?.downcast_into::<PyBytes>()?)
}

/// `NodeLabel {label_val: val without trailing zeros, label_len}`.
fn label(out: &mut Vec<u8>, label: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = label.py();
    let val = bytes_attr(label, intern!(py, "val"))?;
    let val = val.as_bytes();
    let stripped = &val[..val.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)];
    let length: u64 = label.getattr(intern!(py, "length"))?.extract()?;
    field(out, 0x0A, stripped);
    out.push(0x10);
    varint(out, length);
    Ok(())
}

/// `AzksElement {label, value}`.
fn element(out: &mut Vec<u8>, element: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = element.py();
    message(out, 0x0A, |m| {
        label(m, &element.getattr(intern!(py, "label"))?)
    })?;
    field(
        out,
        0x12,
        bytes_attr(element, intern!(py, "value"))?.as_bytes(),
    );
    Ok(())
}

/// `MembershipProof {label, hash_val, sibling_proofs*}`.
fn membership(out: &mut Vec<u8>, proof: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = proof.py();
    message(out, 0x0A, |m| {
        label(m, &proof.getattr(intern!(py, "label"))?)
    })?;
    field(
        out,
        0x12,
        bytes_attr(proof, intern!(py, "hash_val"))?.as_bytes(),
    );
    let siblings = proof.getattr(intern!(py, "sibling_proofs"))?;
    for sp in siblings.downcast::<PyTuple>()?.iter() {
        message(out, 0x1A, |m| {
            message(m, 0x0A, |l| label(l, &sp.getattr(intern!(py, "label"))?))?;
            for e in sp
                .getattr(intern!(py, "siblings"))?
                .downcast::<PyTuple>()?
                .iter()
            {
                message(m, 0x12, |x| element(x, &e))?;
            }
            let direction: u64 = sp.getattr(intern!(py, "direction"))?.extract()?;
            m.push(0x18);
            varint(m, direction);
            Ok(())
        })?;
    }
    Ok(())
}

/// `NonMembershipProof {label, longest_prefix, longest_prefix_children*, membership}`.
fn nonmembership(out: &mut Vec<u8>, proof: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = proof.py();
    message(out, 0x0A, |m| {
        label(m, &proof.getattr(intern!(py, "label"))?)
    })?;
    message(out, 0x12, |m| {
        label(m, &proof.getattr(intern!(py, "longest_prefix"))?)
    })?;
    let children = proof.getattr(intern!(py, "longest_prefix_children"))?;
    for child in children.downcast::<PyTuple>()?.iter() {
        message(out, 0x1A, |m| element(m, &child))?;
    }
    let inner = proof.getattr(intern!(py, "longest_prefix_membership_proof"))?;
    message(out, 0x22, |m| membership(m, &inner))
}

/// The protobuf bytes of a `LookupProof` (see the module comment).
#[pyfunction]
pub fn encode_lookup_proof<'py>(
    py: Python<'py>,
    proof: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(4096);
    let epoch: u64 = proof.getattr(intern!(py, "epoch"))?.extract()?;
    out.push(0x08);
    varint(&mut out, epoch);
    field(
        &mut out,
        0x12,
        bytes_attr(proof, intern!(py, "value"))?.as_bytes(),
    );
    let version: u64 = proof.getattr(intern!(py, "version"))?.extract()?;
    out.push(0x18);
    varint(&mut out, version);
    field(
        &mut out,
        0x22,
        bytes_attr(proof, intern!(py, "existence_vrf_proof"))?.as_bytes(),
    );
    message(&mut out, 0x2A, |m| {
        membership(m, &proof.getattr(intern!(py, "existence_proof"))?)
    })?;
    field(
        &mut out,
        0x32,
        bytes_attr(proof, intern!(py, "marker_vrf_proof"))?.as_bytes(),
    );
    message(&mut out, 0x3A, |m| {
        membership(m, &proof.getattr(intern!(py, "marker_proof"))?)
    })?;
    field(
        &mut out,
        0x42,
        bytes_attr(proof, intern!(py, "freshness_vrf_proof"))?.as_bytes(),
    );
    message(&mut out, 0x4A, |m| {
        nonmembership(m, &proof.getattr(intern!(py, "freshness_proof"))?)
    })?;
    field(
        &mut out,
        0x52,
        bytes_attr(proof, intern!(py, "commitment_nonce"))?.as_bytes(),
    );
    Ok(PyBytes::new(py, &out))
}

//! The append-only (audit) proof rebuild of `glasskey.core.akd.audit`, natively.
//!
//! Verifying a 10k-insert epoch is ~130k BLAKE3 calls and as many Python tuples; here the
//! elements are sorted, checked against the antichain rules (duplicates, prefixes, zero-length
//! and non-canonical labels: what akd <= 0.12 silently dropped) and folded into the two roots
//! in one pass each. The Python functions `_sorted_antichain` and `root_hash_of` are the
//! reference; `tests/core/test_native_audit.py` checks identical roots and identical errors.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::rules::Rules;

const BITS: u32 = 256;

/// One rebuild element: label value and bit length, its contribution, its label value.
struct Element {
    val: [u8; 32],
    len: u32,
    contribution: Vec<u8>,
    label_value: Vec<u8>,
    inserted: bool,
}

/// Number of leading bits two labels share (256 when equal): `256 - bit_length(a ^ b)`.
fn common_bits(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    for i in 0..32 {
        let x = a[i] ^ b[i];
        if x != 0 {
            return (i as u32) * 8 + x.leading_zeros();
        }
    }
    BITS
}

/// `val` with every bit from `depth` on cleared.
fn masked(val: &[u8; 32], depth: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    let full = (depth / 8) as usize;
    out[..full].copy_from_slice(&val[..full]);
    let rem = depth % 8;
    if rem != 0 {
        out[full] = val[full] & (0xFFu8 << (8 - rem));
    }
    out
}

fn canonical(val: &[u8; 32], len: u32) -> bool {
    masked(val, len) == *val
}

/// `_sorted_antichain`'s checks, in its order, with its messages.
fn check_antichain(items: &[Element]) -> Result<(), String> {
    for e in items {
        if e.len == 0 {
            return Err("audit proof contains an element with a zero-length label".into());
        }
        if !canonical(&e.val, e.len) {
            return Err(
                "audit proof contains a non-canonical label (bits set beyond its length)".into(),
            );
        }
    }
    for pair in items.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.len <= b.len && common_bits(&a.val, &b.val) >= a.len {
            let kind = if a.val == b.val && a.len == b.len {
                "duplicate labels"
            } else {
                "a label that is a prefix"
            };
            let hex: String = b.val.iter().map(|x| format!("{x:02x}")).collect();
            return Err(format!(
                "audit proof contains {kind} of another ({hex}/{}); an honest tree never does",
                b.len
            ));
        }
    }
    Ok(())
}

struct Node {
    val: [u8; 32],
    len: u32,
    contribution: Vec<u8>,
    label_value: Vec<u8>,
}

/// `root_hash_of`'s fold over a sorted antichain; the root *value* (None when empty).
fn root_value<'a>(
    rules: &Rules,
    elements: impl Iterator<Item = &'a Element>,
    empty_node_hash: &[u8],
    empty_label_value: &[u8],
) -> Option<Vec<u8>> {
    let merge = |left: Node, right: Node, depth: u32| -> Node {
        let val = masked(&left.val, depth);
        Node {
            contribution: rules
                .parent(
                    &left.contribution,
                    &left.label_value,
                    &right.contribution,
                    &right.label_value,
                )
                .to_vec(),
            label_value: rules.label_value(&val, depth),
            val,
            len: depth,
        }
    };
    let mut stack: Vec<Node> = Vec::new();
    let mut previous = [0u8; 32];
    for e in elements {
        if let Some(mut top) = stack.pop() {
            let split = common_bits(&previous, &e.val);
            while let Some(below) = stack.last() {
                let join = common_bits(&below.val, &top.val);
                if join <= split {
                    break;
                }
                let below = stack.pop().expect("just seen");
                top = merge(below, top, join);
            }
            stack.push(top);
        }
        stack.push(Node {
            val: e.val,
            len: e.len,
            contribution: e.contribution.clone(),
            label_value: e.label_value.clone(),
        });
        previous = e.val;
    }
    while stack.len() > 1 {
        let top = stack.pop().expect("len > 1");
        let below = stack.pop().expect("len > 1");
        let join = common_bits(&below.val, &top.val);
        stack.push(merge(below, top, join));
    }
    let only = stack.pop()?;
    Some(if only.len == 0 {
        only.contribution
    } else if only.val[0] & 0x80 == 0 {
        rules
            .parent(
                &only.contribution,
                &only.label_value,
                empty_node_hash,
                empty_label_value,
            )
            .to_vec()
    } else {
        rules
            .parent(
                empty_node_hash,
                empty_label_value,
                &only.contribution,
                &only.label_value,
            )
            .to_vec()
    })
}

/// `(label value, bit length, value)` as Python passes it (bytes read in place, not
/// extracted element by element as a `Vec<u8>` would be).
type RawElement<'py> = (Bound<'py, PyBytes>, u32, Bound<'py, PyBytes>);

/// An element given either as that tuple (the blob decoder's) or as an `AzksElement`, read
/// through its attributes (so verifying decoded proofs allocates no Python objects).
fn raw_element<'py>(obj: &Bound<'py, PyAny>) -> PyResult<RawElement<'py>> {
    if let Ok(tuple) = obj.downcast::<PyTuple>() {
        return tuple.extract();
    }
    let py = obj.py();
    let label = obj.getattr(intern!(py, "label"))?;
    Ok((
        label
            .getattr(intern!(py, "val"))?
            .downcast_into::<PyBytes>()?,
        label.getattr(intern!(py, "length"))?.extract()?,
        obj.getattr(intern!(py, "value"))?
            .downcast_into::<PyBytes>()?,
    ))
}

fn element(rules: &Rules, obj: &Bound<'_, PyAny>, inserted: Option<&[u8; 8]>) -> PyResult<Element> {
    let (val, len, value) = raw_element(obj)?;
    let value = value.as_bytes();
    let val: [u8; 32] = val
        .as_bytes()
        .try_into()
        .map_err(|_| PyValueError::new_err("label value must be 32 bytes"))?;
    if len > BITS {
        return Err(PyValueError::new_err("label length must be 0..256 bits"));
    }
    let contribution = match inserted {
        Some(epoch) => rules.hash(&[value, epoch]).to_vec(),
        None => value.to_vec(),
    };
    Ok(Element {
        label_value: rules.label_value(&val, len),
        val,
        len,
        contribution,
        inserted: inserted.is_some(),
    })
}

/// The start and end root values (None: an empty tree).
type Roots<T> = (Option<T>, Option<T>);

/// `(start root value, end root value)` of one append-only proof, each None for an empty
/// tree; raises ValueError with `_sorted_antichain`'s message when the element set is not an
/// antichain of canonical labels. Elements are `(32-byte label value, bit length, value)`
/// tuples or `AzksElement`s, in any iterable with a length;
/// inserted values are raw leaves, hashed here with `BE64(end_epoch)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn append_only_roots<'py>(
    py: Python<'py>,
    whatsapp: bool,
    prefix: &[u8],
    unchanged: &Bound<'py, PyAny>,
    inserted: &Bound<'py, PyAny>,
    end_epoch: u64,
    empty_node_hash: &[u8],
    empty_label_value: &[u8],
) -> PyResult<Roots<Bound<'py, PyBytes>>> {
    let rules = Rules::new(whatsapp, prefix);
    let epoch = end_epoch.to_be_bytes();
    let mut items = Vec::with_capacity(unchanged.len()? + inserted.len()?);
    for obj in unchanged.try_iter()? {
        items.push(element(&rules, &obj?, None)?);
    }
    for obj in inserted.try_iter()? {
        items.push(element(&rules, &obj?, Some(&epoch))?);
    }
    let (empty_node_hash, empty_label_value) =
        (empty_node_hash.to_vec(), empty_label_value.to_vec());
    let roots = py.allow_threads(|| -> PyResult<Roots<Vec<u8>>> {
        // Stable, like Python's sorted(): equal keys keep their order (then fail as duplicates).
        items.sort_by_key(|e| (e.val, e.len));
        check_antichain(&items).map_err(PyValueError::new_err)?;
        let start = root_value(
            &rules,
            items.iter().filter(|e| !e.inserted),
            &empty_node_hash,
            &empty_label_value,
        );
        let end = root_value(&rules, items.iter(), &empty_node_hash, &empty_label_value);
        Ok((start, end))
    })?;
    Ok((
        roots.0.map(|r| PyBytes::new(py, &r)),
        roots.1.map(|r| PyBytes::new(py, &r)),
    ))
}

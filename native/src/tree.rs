//! The publish hot loop of `glasskey.directory.akd._tree.AkdTree._rehash`, natively: every
//! dirty interior node is rehashed bottom-up from its children (~5 BLAKE3 calls and a dozen
//! attribute reads and writes each, 20-30k nodes per 10k-update epoch). The Python method is
//! the reference; `tests/directory/test_native_rehash.py` checks identical roots and node
//! records, and identical errors on a corrupted store.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::rules::Rules;

fn is_leaf_key(key: &[u8]) -> bool {
    key.len() == 34 && key[0] == 0x01 && key[1] == 0x00
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One side of a node: its key (None: empty), and the hash to use or the child being rewritten.
fn side<'py>(
    py: Python<'py>,
    record: &Bound<'py, PyAny>,
    nodes: &Bound<'py, PyDict>,
    key_name: &Bound<'py, pyo3::types::PyString>,
    hash_name: &Bound<'py, pyo3::types::PyString>,
    min_epoch: &mut u64,
    rules: &Rules,
) -> PyResult<(Option<Vec<u8>>, Vec<u8>, bool)> {
    let key = record.getattr(key_name)?;
    if key.is_none() {
        return Ok((None, Vec::new(), false));
    }
    let key_bytes = key.downcast::<PyBytes>()?.as_bytes().to_vec();
    if let Some(child) = nodes.get_item(&key)? {
        let child = child.getattr(intern!(py, "record"))?;
        let child_min: u64 = child.getattr(intern!(py, "min_epoch"))?.extract()?;
        *min_epoch = (*min_epoch).min(child_min);
        let value = child.getattr(intern!(py, "value"))?;
        let value = value.downcast::<PyBytes>()?.as_bytes();
        let contribution = if is_leaf_key(&key_bytes) {
            let last: u64 = child.getattr(intern!(py, "last_epoch"))?.extract()?;
            rules.hash(&[value, &last.to_be_bytes()]).to_vec()
        } else {
            value.to_vec()
        };
        return Ok((Some(key_bytes), contribution, true));
    }
    let stored = record.getattr(hash_name)?;
    if stored.is_none() {
        let own: Bound<'py, PyBytes> = record.getattr(intern!(py, "key"))?.downcast_into()?;
        return Err(PyValueError::new_err(format!(
            "tree node {} lacks a child hash",
            hex(own.as_bytes())
        )));
    }
    Ok((
        Some(key_bytes),
        stored.downcast::<PyBytes>()?.as_bytes().to_vec(),
        false,
    ))
}

/// Rehash `dirty` (the dirty interior `_Node`s, deepest first) using `nodes` (key -> `_Node`);
/// sets each record's value, rewritten children's hashes, `last_epoch` and `min_epoch`.
/// A missing child hash raises ValueError with `_rehash`'s message.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn rehash<'py>(
    py: Python<'py>,
    whatsapp: bool,
    prefix: &[u8],
    dirty: &Bound<'py, PyList>,
    nodes: &Bound<'py, PyDict>,
    epoch: u64,
    empty_hash: &[u8],
    empty_label_value: &[u8],
) -> PyResult<()> {
    let rules = Rules::new(whatsapp, prefix);
    let (left_key, left_hash) = (intern!(py, "left_key"), intern!(py, "left_hash"));
    let (right_key, right_hash) = (intern!(py, "right_key"), intern!(py, "right_hash"));
    for node in dirty.iter() {
        let record = node.getattr(intern!(py, "record"))?;
        let own_min: u64 = record.getattr(intern!(py, "min_epoch"))?.extract()?;
        let mut min_epoch = if own_min == 0 { epoch } else { own_min };
        let (lk, left, left_new) = side(
            py,
            &record,
            nodes,
            left_key,
            left_hash,
            &mut min_epoch,
            &rules,
        )?;
        let (rk, right, right_new) = side(
            py,
            &record,
            nodes,
            right_key,
            right_hash,
            &mut min_epoch,
            &rules,
        )?;
        if left_new {
            record.setattr(left_hash, PyBytes::new(py, &left))?;
        }
        if right_new {
            record.setattr(right_hash, PyBytes::new(py, &right))?;
        }
        let left = if lk.is_none() { empty_hash } else { &left };
        let right = if rk.is_none() { empty_hash } else { &right };
        let lv_l = lk.map_or_else(
            || empty_label_value.to_vec(),
            |k| rules.label_value_of_key(&k),
        );
        let lv_r = rk.map_or_else(
            || empty_label_value.to_vec(),
            |k| rules.label_value_of_key(&k),
        );
        let value = rules.parent(left, &lv_l, right, &lv_r);
        record.setattr(intern!(py, "value"), PyBytes::new(py, &value))?;
        record.setattr(intern!(py, "last_epoch"), epoch)?;
        record.setattr(intern!(py, "min_epoch"), min_epoch)?;
    }
    Ok(())
}

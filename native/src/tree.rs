//! Publish's tree insertion (`glasskey.directory.akd._tree.AkdTree._insert`), natively: the
//! breadth-first walk that reads each level's children in one `get_nodes` call, the new
//! subtrees and interior nodes, and the bottom-up rehash of every dirty node. The Python
//! method is the reference, step for step (the same dict order, the same errors);
//! `tests/directory/test_native_insert.py` checks identical roots, node records and errors.
//!
//! Why all of it and not only the rehash: the walk is ~100k Python objects and attribute
//! reads per 10k-update epoch (~0.15 s at 10k labels, ~0.5 s at 1M); here a node is a
//! struct, read from its `NodeRecord` once and written back as one new `NodeRecord`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::rules::Rules;

const BITS: u16 = 256;
/// `_keys.ROOT_KEY`: the dict key `_insert` files the root under, whatever its record says.
const ROOT_KEY: [u8; 2] = [0, 0];

type Label = [u8; 32];

/// A storage key, inline (at most 34 bytes: `BE16(length)` and 32 label bytes), so that no
/// node and no map entry allocates one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    len: u8,
    bytes: [u8; 34],
}

impl Key {
    fn new(bytes: &[u8]) -> PyResult<Key> {
        if bytes.len() > 34 {
            return Err(not_a_label(bytes));
        }
        let mut key = Key {
            len: bytes.len() as u8,
            bytes: [0u8; 34],
        };
        key.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(key)
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

struct Node {
    key: Key,
    label: Label,
    length: u16,
    value: Vec<u8>,
    last_epoch: u64,
    min_epoch: u64,
    left_key: Option<Key>,
    left_hash: Option<Vec<u8>>,
    right_key: Option<Key>,
    right_hash: Option<Vec<u8>>,
    dirty: bool,
}

impl Node {
    fn child_key(&self, side: usize) -> Option<Key> {
        if side == 0 {
            self.left_key
        } else {
            self.right_key
        }
    }

    fn set_child(&mut self, side: usize, key: Key) {
        if side == 0 {
            self.left_key = Some(key);
        } else {
            self.right_key = Some(key);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn corrupt(message: String) -> PyErr {
    PyValueError::new_err(message)
}

fn is_leaf_key(key: &[u8]) -> bool {
    key.len() == 34 && key[0] == 0x01 && key[1] == 0x00
}

fn not_a_label(key: &[u8]) -> PyErr {
    corrupt(format!("tree node key {} is not a node label's", hex(key)))
}

/// `_keys.key_label` with `key_node_label_uncached`'s bounds (a `Key` is at most 34 bytes
/// already): (label, bit length).
fn key_label(key: &Key) -> PyResult<(Label, u16)> {
    let bytes = key.as_slice();
    if bytes.len() < 2 {
        return Err(not_a_label(bytes));
    }
    let length = u16::from_be_bytes([bytes[0], bytes[1]]);
    if length > BITS {
        return Err(not_a_label(bytes));
    }
    let mut label = [0u8; 32];
    label[..bytes.len() - 2].copy_from_slice(&bytes[2..]);
    Ok((label, length))
}

/// `_keys.node_key`: `BE16(length) || the first ceil(length/8) bytes`.
fn node_key(label: &Label, length: u16) -> Key {
    let n = (usize::from(length) + 7) >> 3;
    let mut key = Key {
        len: (2 + n) as u8,
        bytes: [0u8; 34],
    };
    key.bytes[..2].copy_from_slice(&length.to_be_bytes());
    key.bytes[2..2 + n].copy_from_slice(&label[..n]);
    key
}

/// `_common_bits`: the leading bits `a` and `b` share, at most `limit`.
fn common_bits(a: &Label, b: &Label, limit: u16) -> u16 {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            let bits = (i as u16) * 8 + diff.leading_zeros() as u16;
            return bits.min(limit);
        }
    }
    BITS.min(limit)
}

/// `_prefix`: the first `length` bits of `label`, the rest zero.
fn prefix(label: &Label, length: u16) -> Label {
    let mut out = [0u8; 32];
    let full = usize::from(length >> 3);
    out[..full].copy_from_slice(&label[..full]);
    let rem = length & 7;
    if rem != 0 {
        out[full] = label[full] & (0xFFu8 << (8 - rem));
    }
    out
}

/// `_bit`: bit `index` (< 256) of `label`, 0 or 1.
fn bit(label: &Label, index: u16) -> usize {
    usize::from((label[usize::from(index >> 3)] >> (7 - (index & 7))) & 1)
}

/// `label | (1 << (BITS - 1 - index))`: the first label of the right half below `index` bits.
fn right_half(label: &Label, index: u16) -> Label {
    let mut out = *label;
    out[usize::from(index >> 3)] |= 0x80 >> (index & 7);
    out
}

fn bytes_of(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    Ok(value.downcast::<PyBytes>()?.as_bytes().to_vec())
}

fn optional_bytes(value: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if value.is_none() {
        Ok(None)
    } else {
        bytes_of(value).map(Some)
    }
}

fn optional_key(value: &Bound<'_, PyAny>) -> PyResult<Option<Key>> {
    if value.is_none() {
        Ok(None)
    } else {
        Key::new(value.downcast::<PyBytes>()?.as_bytes()).map(Some)
    }
}

/// A fetched `NodeRecord`, checked as `_Node.of` checks it: its key is a label's and its
/// children's keys fit one.
fn read_record(py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<Node> {
    let key = Key::new(
        record
            .getattr(intern!(py, "key"))?
            .downcast::<PyBytes>()?
            .as_bytes(),
    )?;
    let (label, length) = key_label(&key)?;
    Ok(Node {
        label,
        length,
        value: bytes_of(&record.getattr(intern!(py, "value"))?)?,
        last_epoch: record.getattr(intern!(py, "last_epoch"))?.extract()?,
        min_epoch: record.getattr(intern!(py, "min_epoch"))?.extract()?,
        left_key: optional_key(&record.getattr(intern!(py, "left_key"))?)?,
        left_hash: optional_bytes(&record.getattr(intern!(py, "left_hash"))?)?,
        right_key: optional_key(&record.getattr(intern!(py, "right_key"))?)?,
        right_hash: optional_bytes(&record.getattr(intern!(py, "right_hash"))?)?,
        key,
        dirty: false,
    })
}

/// FxHash (rustc's) over a storage key, instead of std's SipHash, which took ~8 % of an
/// insert: keys are the server's VRF outputs and their prefixes, which no client chooses,
/// so a flooding-resistant hash buys nothing here.
#[derive(Default)]
struct KeyHasher(u64);

impl KeyHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The Python dict `nodes: key -> _Node` of `_insert`: node structs, plus the dict's own
/// order (a key assigned again keeps its place and takes the new node).
struct Nodes {
    all: Vec<Node>,
    order: Vec<usize>,
    slot_of: HashMap<Key, usize, BuildHasherDefault<KeyHasher>>,
}

impl Nodes {
    /// Room for an epoch of `leaves` new leaves: each adds a leaf, an interior node and a
    /// few path nodes (a 10k-update epoch into 10k labels touches ~38k nodes).
    fn with_capacity(leaves: usize) -> Self {
        let n = leaves * 4 + 64;
        Nodes {
            all: Vec::with_capacity(n),
            order: Vec::with_capacity(n),
            slot_of: HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default()),
        }
    }

    fn insert(&mut self, key: Key, node: Node) -> usize {
        let index = self.all.len();
        self.all.push(node);
        match self.slot_of.get(&key) {
            Some(&slot) => self.order[slot] = index,
            None => {
                self.slot_of.insert(key, self.order.len());
                self.order.push(index);
            }
        }
        index
    }

    fn get(&self, key: &Key) -> Option<usize> {
        self.slot_of.get(key).map(|&slot| self.order[slot])
    }
}

struct Walk<'a> {
    labels: &'a [Label],
    raws: &'a [Vec<u8>],
    epoch: u64,
    nodes: Nodes,
    created: usize,
}

impl Walk<'_> {
    fn split(&self, label: &Label, length: u16, lo: usize, hi: usize) -> usize {
        let probe = right_half(label, length);
        lo + self.labels[lo..hi].partition_point(|l| *l < probe)
    }

    /// `_build`: the subtree of brand-new sorted leaves `lo..hi`; its root key.
    fn build(&mut self, lo: usize, hi: usize) -> Key {
        let epoch = self.epoch;
        if hi - lo == 1 {
            let label = self.labels[lo];
            let key = node_key(&label, BITS);
            let node = Node {
                key,
                label,
                length: BITS,
                value: self.raws[lo].clone(),
                last_epoch: epoch,
                min_epoch: epoch,
                left_key: None,
                left_hash: None,
                right_key: None,
                right_hash: None,
                dirty: true,
            };
            self.nodes.insert(key, node);
            self.created += 1;
            return key;
        }
        let depth = common_bits(&self.labels[lo], &self.labels[hi - 1], BITS);
        let label = prefix(&self.labels[lo], depth);
        let split = self.split(&label, depth, lo, hi);
        let left_key = self.build(lo, split);
        let right_key = self.build(split, hi);
        let key = node_key(&label, depth);
        let node = Node {
            key,
            label,
            length: depth,
            value: Vec::new(),
            last_epoch: epoch,
            min_epoch: epoch,
            left_key: Some(left_key),
            left_hash: None,
            right_key: Some(right_key),
            right_hash: None,
            dirty: true,
        };
        self.nodes.insert(key, node);
        self.created += 1;
        key
    }

    /// The groups `lo..hi` of `node` splits into, as `(node, side, lo, hi)`. Only interior
    /// nodes split (the walk never descends into a leaf; `_insert` checks the root's key).
    fn halves(
        &self,
        node: usize,
        lo: usize,
        hi: usize,
        out: &mut Vec<(usize, usize, usize, usize)>,
    ) -> PyResult<()> {
        let n = &self.nodes.all[node];
        if n.length >= BITS {
            return Err(corrupt(format!(
                "tree node {} has no children to split",
                hex(n.key.as_slice())
            )));
        }
        let split = self.split(&n.label, n.length, lo, hi);
        if split > lo {
            out.push((node, 0, lo, split));
        }
        if hi > split {
            out.push((node, 1, split, hi));
        }
        Ok(())
    }

    /// One level's steps (`_insert`'s inner loop): returns the next frontier.
    fn step(
        &mut self,
        wanted: Vec<(usize, usize, usize, usize)>,
    ) -> PyResult<Vec<(usize, usize, usize)>> {
        let mut frontier = Vec::new();
        let mut work = wanted;
        while let Some((node, side, lo, hi)) = work.pop() {
            let Some(key) = self.nodes.all[node].child_key(side) else {
                let subtree = self.build(lo, hi);
                self.nodes.all[node].set_child(side, subtree);
                continue;
            };
            let Some(child) = self.nodes.get(&key) else {
                return Err(corrupt(format!(
                    "tree node {} is referenced but missing",
                    hex(key.as_slice())
                )));
            };
            let first = self.labels[lo];
            let group_len = if hi - lo == 1 {
                BITS
            } else {
                common_bits(&first, &self.labels[hi - 1], BITS)
            };
            let (child_label, child_length, child_min) = {
                let c = &self.nodes.all[child];
                (c.label, c.length, c.min_epoch)
            };
            let depth = common_bits(&child_label, &first, child_length.min(group_len));
            if depth == child_length {
                if depth == BITS {
                    return Err(corrupt(
                        "a new leaf label already exists in the tree".into(),
                    ));
                }
                self.nodes.all[child].dirty = true;
                frontier.push((child, lo, hi));
                continue;
            }
            // Push the existing child down under a new interior node at `depth`.
            let label = prefix(&child_label, depth);
            let interior_key = node_key(&label, depth);
            let mut interior = Node {
                key: interior_key,
                label,
                length: depth,
                value: Vec::new(),
                last_epoch: self.epoch,
                min_epoch: child_min,
                left_key: None,
                left_hash: None,
                right_key: None,
                right_hash: None,
                dirty: true,
            };
            interior.set_child(bit(&child_label, depth), key);
            let interior = self.nodes.insert(interior_key, interior);
            self.created += 1;
            self.nodes.all[node].set_child(side, interior_key);
            self.halves(interior, lo, hi, &mut work)?;
        }
        Ok(frontier)
    }

    /// `_rehash`: every dirty interior node bottom-up (deepest first, dict order within a
    /// length); a node's child in the dict gives its contribution, else the stored hash.
    fn rehash(
        &mut self,
        rules: &Rules,
        empty_hash: &[u8],
        empty_label_value: &[u8],
    ) -> PyResult<()> {
        let epoch = self.epoch;
        let mut dirty: Vec<usize> = (self.nodes.order.iter().copied())
            .filter(|&i| self.nodes.all[i].dirty && self.nodes.all[i].length < BITS)
            .collect();
        dirty.sort_by_key(|&i| std::cmp::Reverse(self.nodes.all[i].length));
        for i in dirty {
            let own_min = self.nodes.all[i].min_epoch;
            let mut min_epoch = if own_min == 0 { epoch } else { own_min };
            let left = self.side(i, 0, &mut min_epoch, rules)?;
            let right = self.side(i, 1, &mut min_epoch, rules)?;
            let node = &self.nodes.all[i];
            let label_value = |key: &Option<Key>| match key {
                None => empty_label_value.to_vec(),
                Some(k) => rules.label_value_of_key(k.as_slice()),
            };
            let (lv_l, lv_r) = (label_value(&node.left_key), label_value(&node.right_key));
            let (l, r) = (
                left.as_ref().map_or(empty_hash, |(h, _)| h.as_slice()),
                right.as_ref().map_or(empty_hash, |(h, _)| h.as_slice()),
            );
            let value = rules.parent(l, &lv_l, r, &lv_r).to_vec();
            let node = &mut self.nodes.all[i];
            if let Some((h, true)) = left {
                node.left_hash = Some(h);
            }
            if let Some((h, true)) = right {
                node.right_hash = Some(h);
            }
            node.value = value;
            node.last_epoch = epoch;
            node.min_epoch = min_epoch;
        }
        Ok(())
    }

    /// One side of node `i`: None (empty), or (its contribution, whether it was rewritten).
    fn side(
        &self,
        i: usize,
        side: usize,
        min_epoch: &mut u64,
        rules: &Rules,
    ) -> PyResult<Option<(Vec<u8>, bool)>> {
        let node = &self.nodes.all[i];
        let Some(key) = node.child_key(side) else {
            return Ok(None);
        };
        if let Some(c) = self.nodes.get(&key) {
            let child = &self.nodes.all[c];
            *min_epoch = (*min_epoch).min(child.min_epoch);
            let contribution = if is_leaf_key(key.as_slice()) {
                rules
                    .hash(&[&child.value, &child.last_epoch.to_be_bytes()])
                    .to_vec()
            } else {
                child.value.clone()
            };
            return Ok(Some((contribution, true)));
        }
        let stored = if side == 0 {
            &node.left_hash
        } else {
            &node.right_hash
        };
        match stored {
            Some(h) => Ok(Some((h.clone(), false))),
            None => Err(corrupt(format!(
                "tree node {} lacks a child hash",
                hex(node.key.as_slice())
            ))),
        }
    }
}

fn optional<'py>(py: Python<'py>, value: Option<&[u8]>) -> Bound<'py, PyAny> {
    match value {
        None => py.None().into_bound(py),
        Some(v) => PyBytes::new(py, v).into_any(),
    }
}

/// Insert the sorted, distinct 32-byte `labels` with their raw values at `epoch` under
/// `root` (a `NodeRecord`), reading children through `get_nodes(list of keys) -> dict`.
/// Returns (the root's new value, the number of nodes created, every dirty node as a new
/// `record_type` in key order). A corrupted tree raises ValueError with `_insert`'s message.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn insert<'py>(
    py: Python<'py>,
    whatsapp: bool,
    prefix: &[u8],
    labels: &Bound<'py, PyList>,
    raws: &Bound<'py, PyList>,
    root: &Bound<'py, PyAny>,
    get_nodes: &Bound<'py, PyAny>,
    record_type: &Bound<'py, PyAny>,
    epoch: u64,
    empty_hash: &[u8],
    empty_label_value: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, usize, Bound<'py, PyList>)> {
    let rules = Rules::new(whatsapp, prefix);
    if labels.len() != raws.len() {
        return Err(PyValueError::new_err("one raw value per label"));
    }
    let labels: Vec<Label> = (labels.iter())
        .map(|l| {
            <Label>::try_from(l.downcast::<PyBytes>()?.as_bytes())
                .map_err(|_| PyValueError::new_err("new leaf labels must be 32 bytes"))
        })
        .collect::<PyResult<_>>()?;
    if labels.windows(2).any(|pair| pair[0] >= pair[1]) {
        // `_insert` sorts them and refuses a repeated one first; a repeat here would split
        // a group below 256 bits.
        return Err(PyValueError::new_err(
            "new leaf labels must be sorted and distinct",
        ));
    }
    let raws: Vec<Vec<u8>> = raws.iter().map(|r| bytes_of(&r)).collect::<PyResult<_>>()?;
    let mut walk = Walk {
        labels: &labels,
        raws: &raws,
        epoch,
        nodes: Nodes::with_capacity(labels.len()),
        created: 0,
    };
    let mut root_node = read_record(py, root)?;
    root_node.dirty = true;
    let root_key = Key::new(&ROOT_KEY)?;
    let root_index = walk.nodes.insert(root_key, root_node);
    let mut frontier = vec![(root_index, 0usize, labels.len())];
    while !frontier.is_empty() {
        let mut wanted = Vec::with_capacity(frontier.len() * 2);
        for (node, lo, hi) in frontier {
            walk.halves(node, lo, hi, &mut wanted)?;
        }
        let missing: Vec<Bound<'py, PyBytes>> = wanted
            .iter()
            .filter_map(|&(node, side, _, _)| walk.nodes.all[node].child_key(side))
            .filter(|key| walk.nodes.get(key).is_none())
            .map(|key| PyBytes::new(py, key.as_slice()))
            .collect();
        if !missing.is_empty() {
            let found = get_nodes.call1((PyList::new(py, missing)?,))?;
            for (key, record) in found.downcast::<PyDict>()?.iter() {
                let node = read_record(py, &record)?;
                walk.nodes
                    .insert(Key::new(key.downcast::<PyBytes>()?.as_bytes())?, node);
            }
        }
        frontier = walk.step(wanted)?;
    }
    walk.rehash(&rules, empty_hash, empty_label_value)?;
    let created = walk.created;
    let root_value = {
        let root = walk.nodes.get(&root_key).unwrap_or(root_index);
        PyBytes::new(py, &walk.nodes.all[root].value)
    };
    // What is written, in key order (a stable sort, as Python's). The structs give their
    // buffers up as their records are made, and the map goes first, so that the epoch's
    // records and structs are not all alive at once (a 100k-leaf epoch: ~300k of each).
    let Nodes {
        mut all,
        order,
        slot_of,
    } = walk.nodes;
    drop(slot_of);
    let mut dirty: Vec<usize> = order.into_iter().filter(|&i| all[i].dirty).collect();
    dirty.sort_by(|&a, &b| all[a].key.as_slice().cmp(all[b].key.as_slice()));
    let out = PyList::empty(py);
    for i in dirty {
        let n = &mut all[i];
        let fields = PyTuple::new(
            py,
            [
                PyBytes::new(py, n.key.as_slice()).into_any(),
                PyBytes::new(py, &std::mem::take(&mut n.value)).into_any(),
                n.last_epoch.into_pyobject(py)?.into_any(),
                n.min_epoch.into_pyobject(py)?.into_any(),
                optional(py, n.left_key.as_ref().map(Key::as_slice)),
                optional(py, n.left_hash.take().as_deref()),
                optional(py, n.right_key.as_ref().map(Key::as_slice)),
                optional(py, n.right_hash.take().as_deref()),
            ],
        )?;
        out.append(record_type.call1(fields)?)?;
    }
    Ok((root_value, created, out))
}

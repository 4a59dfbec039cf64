//! `LookupProof` protobuf bytes written straight from glasskey's proof dataclasses: the
//! encoding of `glasskey.core.akd._pbwrite.lookup_body`, byte for byte (canonical layout:
//! fields in order, present-but-default fields written, label values without trailing zero
//! bytes). A lookup proof is ~45 nested messages; Python spent ~60 us building them.
//! Anything unexpected (an integer out of range, a missing attribute) raises, and glasskey
//! then runs the Python encoder, which raises its own error: `tests/core/test_akd_pbwrite.py`
//! compares all three encoders (upb, Python, native) on vectors and random proofs.

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyString, PyTuple, PyType};

/// Where the slots of one of the per-level classes (`NodeLabel`, `AzksElement`,
/// `SiblingProof`) sit inside its instances. A lookup proof reads ~450 attributes of ~150
/// objects of these three classes; `getattr` costs ~24 ns each (half the encoding), reading a
/// slot ~2 ns. The offsets are not assumed: they are found once on the first instance of the
/// class itself, by matching each attribute `getattr` returns against the words of the
/// object, and used only when every attribute matched exactly one word; then only for
/// objects whose type is that very type (a subclass, a stand-in or an unset slot falls back
/// to `getattr`).
struct Slots<const N: usize> {
    ty: Py<PyType>,
    offsets: [usize; N],
}

/// The class (module, qualified name) whose instances a layout describes, and the layout,
/// once found on an instance of exactly that class.
struct Layout<const N: usize> {
    class: (&'static str, &'static str),
    slots: GILOnceCell<Option<Slots<N>>>,
}

static NODE_LABEL: Layout<2> = Layout {
    class: ("glasskey.core.akd._node_label", "NodeLabel"),
    slots: GILOnceCell::new(),
};
static ELEMENT: Layout<2> = Layout {
    class: ("glasskey.core.akd.types", "AzksElement"),
    slots: GILOnceCell::new(),
};
static SIBLING: Layout<3> = Layout {
    class: ("glasskey.core.akd.types", "SiblingProof"),
    slots: GILOnceCell::new(),
};

fn is_class(obj: &Bound<'_, PyAny>, (module, name): (&str, &str)) -> bool {
    let ty = obj.get_type();
    let attr_is = |key: &str, want: &str| {
        ty.getattr(key)
            .and_then(|v| v.extract::<String>())
            .is_ok_and(|v| v == want)
    };
    attr_is("__module__", module) && attr_is("__qualname__", name)
}

fn find_slots<const N: usize>(
    obj: &Bound<'_, PyAny>,
    names: [&Bound<'_, PyString>; N],
) -> Option<Slots<N>> {
    let ty = obj.get_type();
    let basic: usize = ty.getattr("__basicsize__").ok()?.extract().ok()?;
    let header = std::mem::size_of::<ffi::PyObject>();
    let word = std::mem::size_of::<*mut ffi::PyObject>();
    if basic != header + N * word {
        return None; // a __dict__, __weakref__ or other fields: not a plain slotted class
    }
    let base = obj.as_ptr() as *const u8;
    let mut offsets = [0usize; N];
    for (i, name) in names.iter().enumerate() {
        let value = obj.getattr(*name).ok()?;
        let mut found = None;
        for offset in (header..basic).step_by(word) {
            // SAFETY: header..basicsize lies inside the instance, which `obj` keeps alive.
            let w = unsafe { *(base.add(offset) as *const *mut ffi::PyObject) };
            if w == value.as_ptr() {
                if found.is_some() {
                    return None;
                }
                found = Some(offset);
            }
        }
        offsets[i] = found?;
    }
    Some(Slots {
        ty: ty.unbind(),
        offsets,
    })
}

/// Slot `i` of `obj` as a borrowed raw pointer when `obj` is exactly the class of `slots`;
/// null otherwise (or when the slot is unset).
fn slot_ptr<const N: usize>(
    slots: &Slots<N>,
    obj: *mut ffi::PyObject,
    i: usize,
) -> *mut ffi::PyObject {
    // SAFETY: `obj` is a live object (the caller holds it); its ob_type is read first, and a
    // slot offset is used only inside an instance of exactly the type it was found on.
    unsafe {
        if obj.is_null() || ffi::Py_TYPE(obj) != slots.ty.as_ptr() as *mut ffi::PyTypeObject {
            return std::ptr::null_mut();
        }
        *((obj as *const u8).add(slots.offsets[i]) as *const *mut ffi::PyObject)
    }
}

/// Attribute `i` of `obj` (named `names[i]`), read from its slot when the layout is known.
fn attr<'py, const N: usize>(
    layout: &Layout<N>,
    obj: &Bound<'py, PyAny>,
    names: [&Bound<'py, PyString>; N],
    i: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let slots = match layout.slots.get(py) {
        Some(found) => found.as_ref(),
        None if is_class(obj, layout.class) => {
            let _ = layout.slots.set(py, find_slots(obj, names));
            layout.slots.get(py).and_then(Option::as_ref)
        }
        None => None,
    };
    if let Some(slots) = slots {
        let w = slot_ptr(slots, obj.as_ptr(), i);
        if !w.is_null() {
            // SAFETY: a borrowed reference from a live object, made owned here.
            return Ok(unsafe { Bound::from_borrowed_ptr(py, w) });
        }
    }
    obj.getattr(names[i])
}

/// Slot `i` of `obj` as a raw pointer when `obj` is exactly the layout's class (else null);
/// for prefetching only: nothing is dereferenced through it but a prefetch hint.
fn peek<const N: usize>(
    py: Python<'_>,
    layout: &Layout<N>,
    obj: *mut ffi::PyObject,
    i: usize,
) -> *mut ffi::PyObject {
    match layout.slots.get(py).and_then(Option::as_ref) {
        Some(slots) => slot_ptr(slots, obj, i),
        None => std::ptr::null_mut(),
    }
}

/// A hint to start loading `p`'s cache line (x86-64; nothing elsewhere). Never faults.
#[inline(always)]
fn prefetch(p: *const ffi::PyObject) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch hint has no architectural effect, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Starts loading a membership path's objects before it is encoded. Its ~50 levels are ~8
/// objects each, scattered over the heap; read one after another, each cache miss waits for
/// the one before. Here each round issues one kind of object for every level at once, so the
/// misses overlap (a proof's objects are cold when it is encoded after many others were made).
fn prefetch_path(py: Python<'_>, levels: &Bound<'_, PyTuple>) {
    let sps: Vec<*mut ffi::PyObject> = levels.iter().map(|sp| sp.as_ptr()).collect();
    sps.iter().for_each(|&sp| prefetch(sp));
    let labels: Vec<_> = sps.iter().map(|&sp| peek(py, &SIBLING, sp, 0)).collect();
    let tuples: Vec<_> = sps.iter().map(|&sp| peek(py, &SIBLING, sp, 1)).collect();
    labels.iter().chain(&tuples).for_each(|&p| prefetch(p));
    let elements: Vec<*mut ffi::PyObject> = tuples
        .iter()
        .filter(|t| !t.is_null())
        .filter_map(|&t| {
            // SAFETY: a slot of an exact SiblingProof holds the tuple its dataclass was given.
            let t = unsafe { Bound::from_borrowed_ptr(py, t) };
            let first = t
                .downcast::<PyTuple>()
                .ok()?
                .get_borrowed_item(0)
                .ok()?
                .as_ptr();
            Some(first)
        })
        .collect();
    elements.iter().for_each(|&e| prefetch(e));
    for &label in &labels {
        prefetch(peek(py, &NODE_LABEL, label, 0));
    }
    let element_labels: Vec<_> = elements.iter().map(|&e| peek(py, &ELEMENT, e, 0)).collect();
    for &e in &elements {
        prefetch(peek(py, &ELEMENT, e, 1));
    }
    element_labels.iter().for_each(|&l| prefetch(l));
    for &l in &element_labels {
        prefetch(peek(py, &NODE_LABEL, l, 0));
    }
}

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
    let names = [intern!(py, "val"), intern!(py, "length")];
    let val = attr(&NODE_LABEL, label, names, 0)?.downcast_into::<PyBytes>()?;
    let val = val.as_bytes();
    let stripped = &val[..val.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)];
    let length: u64 = attr(&NODE_LABEL, label, names, 1)?.extract()?;
    field(out, 0x0A, stripped);
    out.push(0x10);
    varint(out, length);
    Ok(())
}

/// `AzksElement {label, value}`.
fn element(out: &mut Vec<u8>, element: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = element.py();
    let names = [intern!(py, "label"), intern!(py, "value")];
    message(out, 0x0A, |m| label(m, &attr(&ELEMENT, element, names, 0)?))?;
    let value = attr(&ELEMENT, element, names, 1)?.downcast_into::<PyBytes>()?;
    field(out, 0x12, value.as_bytes());
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
    let names = [
        intern!(py, "label"),
        intern!(py, "siblings"),
        intern!(py, "direction"),
    ];
    let siblings = siblings.downcast::<PyTuple>()?;
    prefetch_path(py, siblings);
    for sp in siblings.iter() {
        message(out, 0x1A, |m| {
            message(m, 0x0A, |l| label(l, &attr(&SIBLING, &sp, names, 0)?))?;
            for e in attr(&SIBLING, &sp, names, 1)?.downcast::<PyTuple>()?.iter() {
                message(m, 0x12, |x| element(x, &e))?;
            }
            let direction: u64 = attr(&SIBLING, &sp, names, 2)?.extract()?;
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

/// For tests: each per-level class and the slot offsets found for it (`None`: not yet seen,
/// or its layout did not match and `getattr` reads it).
#[pyfunction]
pub fn lookup_encoder_layouts(py: Python<'_>) -> Vec<(&'static str, Option<Vec<usize>>)> {
    fn found<const N: usize>(py: Python<'_>, l: &Layout<N>) -> (&'static str, Option<Vec<usize>>) {
        let offsets = l
            .slots
            .get(py)
            .and_then(Option::as_ref)
            .map(|s| s.offsets.to_vec());
        (l.class.1, offsets)
    }
    vec![
        found(py, &NODE_LABEL),
        found(py, &ELEMENT),
        found(py, &SIBLING),
    ]
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

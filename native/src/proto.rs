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
fn message<E>(
    out: &mut Vec<u8>,
    tag: u8,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
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
fn write_label(out: &mut Vec<u8>, val: &[u8], length: u64) {
    let mut end = val.len(); // whole zero words first: a label's value is mostly zero padding
    while end >= 8 && val[end - 8..end] == [0; 8] {
        end -= 8;
    }
    let stripped = &val[..val[..end]
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1)];
    field(out, 0x0A, stripped);
    out.push(0x10);
    varint(out, length);
}

fn label(out: &mut Vec<u8>, label: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = label.py();
    let names = [intern!(py, "val"), intern!(py, "length")];
    let val = attr(&NODE_LABEL, label, names, 0)?.downcast_into::<PyBytes>()?;
    let length: u64 = attr(&NODE_LABEL, label, names, 1)?.extract()?;
    write_label(out, val.as_bytes(), length);
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
    if let Some(levels) = Levels::known(py) {
        let mark = out.len();
        // SAFETY: `siblings` is a live tuple that keeps every object of the path alive.
        if unsafe { raw_path(out, &levels, siblings.as_ptr()) }.is_ok() {
            return Ok(());
        }
        out.truncate(mark); // something not exactly a glasskey proof level: getattr decides
    }
    for sp in siblings.iter() {
        message(out, 0x1A, |m| {
            message(m, 0x0A, |l| label(l, &attr(&SIBLING, &sp, names, 0)?))?;
            for e in attr(&SIBLING, &sp, names, 1)?.downcast::<PyTuple>()?.iter() {
                message(m, 0x12, |x| element(x, &e))?;
            }
            let direction: u64 = attr(&SIBLING, &sp, names, 2)?.extract()?;
            m.push(0x18);
            varint(m, direction);
            PyResult::Ok(())
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

// -- the levels of a path, from raw pointers ------------------------------------------------
//
// A membership path is most of a lookup proof: ~17 levels of 8 objects each, 3 paths. Read
// through `Bound` values, each object costs an out-of-line incref and decref (abi3 exports
// them as functions: 15 % of the encoding); these readers borrow instead, as the tuple of
// levels keeps every object alive, and accept only objects of exactly the expected types
// (`bytes`, `tuple`, the three slotted classes), returning `Unsupported` otherwise so that
// the caller rewrites the path through `getattr`, which raises the right error.

/// The path holds something the raw readers do not take.
struct Unsupported;

/// The three per-level layouts, when all have been found.
struct Levels {
    label: &'static Slots<2>,
    element: &'static Slots<2>,
    sibling: &'static Slots<3>,
}

impl Levels {
    fn known(py: Python<'_>) -> Option<Levels> {
        Some(Levels {
            label: NODE_LABEL.slots.get(py)?.as_ref()?,
            element: ELEMENT.slots.get(py)?.as_ref()?,
            sibling: SIBLING.slots.get(py)?.as_ref()?,
        })
    }
}

/// The contents of `obj` when it is exactly `bytes`, borrowed from it.
///
/// # Safety
/// `obj` is null or a live object that outlives the returned slice.
unsafe fn raw_bytes<'a>(obj: *mut ffi::PyObject) -> Result<&'a [u8], Unsupported> {
    if obj.is_null() || ffi::Py_TYPE(obj) != std::ptr::addr_of_mut!(ffi::PyBytes_Type) {
        return Err(Unsupported);
    }
    let data = ffi::PyBytes_AsString(obj) as *const u8;
    let len = ffi::PyBytes_Size(obj);
    if data.is_null() || len < 0 {
        ffi::PyErr_Clear();
        return Err(Unsupported);
    }
    Ok(std::slice::from_raw_parts(data, len as usize))
}

/// `obj` as a u64 when it is an `int` (or an `IntEnum` member) in range.
///
/// # Safety
/// `obj` is null or a live object.
unsafe fn raw_u64(obj: *mut ffi::PyObject) -> Result<u64, Unsupported> {
    if obj.is_null() || ffi::PyLong_Check(obj) == 0 {
        return Err(Unsupported);
    }
    let value = ffi::PyLong_AsUnsignedLongLong(obj);
    if value == u64::MAX && !ffi::PyErr_Occurred().is_null() {
        ffi::PyErr_Clear(); // negative or too big: the getattr path raises it properly
        return Err(Unsupported);
    }
    Ok(value)
}

/// Item `i` of `tuple` when it is exactly a tuple of more than `i` items (borrowed).
///
/// # Safety
/// `tuple` is null or a live object.
unsafe fn raw_item(tuple: *mut ffi::PyObject, i: isize) -> *mut ffi::PyObject {
    if tuple.is_null()
        || ffi::Py_TYPE(tuple) != std::ptr::addr_of_mut!(ffi::PyTuple_Type)
        || ffi::PyTuple_Size(tuple) <= i
    {
        return std::ptr::null_mut();
    }
    ffi::PyTuple_GetItem(tuple, i)
}

/// # Safety
/// `obj` is null or a live object.
unsafe fn raw_label(
    out: &mut Vec<u8>,
    l: &Levels,
    obj: *mut ffi::PyObject,
) -> Result<(), Unsupported> {
    let val = raw_bytes(slot_ptr(l.label, obj, 0))?;
    let length = raw_u64(slot_ptr(l.label, obj, 1))?;
    write_label(out, val, length);
    Ok(())
}

/// # Safety
/// `obj` is null or a live object.
unsafe fn raw_element(
    out: &mut Vec<u8>,
    l: &Levels,
    obj: *mut ffi::PyObject,
) -> Result<(), Unsupported> {
    let label = slot_ptr(l.element, obj, 0);
    let value = raw_bytes(slot_ptr(l.element, obj, 1))?;
    message(out, 0x0A, |m| raw_label(m, l, label))?;
    field(out, 0x12, value);
    Ok(())
}

/// One level of a path: the `SiblingProof` and the objects it points to (null where absent
/// or not of the expected type).
#[derive(Clone, Copy)]
struct Level {
    proof: *mut ffi::PyObject,
    label: *mut ffi::PyObject,
    siblings: *mut ffi::PyObject,
    element: *mut ffi::PyObject,
}

/// How many prefetch stages a level has: each loads the objects the stage before found.
const STAGES: usize = 5;
/// How many levels ahead of the one being written each stage runs ahead of the next.
const AHEAD: usize = 2;

/// Stage `stage` of starting to load level `v`'s objects. They are scattered over the heap
/// and cold when a proof is encoded after many others were made; read when needed, each
/// miss would wait for the one before (a level is a chain of five). Run `AHEAD` levels
/// apart, the stages keep several levels' misses in flight while earlier levels are
/// written. Every stage only reads what an earlier one loaded, or issues a hint.
///
/// # Safety
/// `v.proof` is a live object.
unsafe fn prefetch_stage(l: &Levels, v: &mut Level, stage: usize) {
    match stage {
        0 => prefetch(v.proof),
        1 => {
            v.label = slot_ptr(l.sibling, v.proof, 0);
            v.siblings = slot_ptr(l.sibling, v.proof, 1);
            prefetch(v.label);
            prefetch(v.siblings);
        }
        2 => {
            v.element = raw_item(v.siblings, 0);
            prefetch(v.element);
            prefetch(slot_ptr(l.label, v.label, 0));
        }
        3 => {
            prefetch(slot_ptr(l.element, v.element, 0));
            prefetch(slot_ptr(l.element, v.element, 1));
        }
        _ => prefetch(slot_ptr(l.label, slot_ptr(l.element, v.element, 0), 0)),
    }
}

/// The `sibling_proofs` of a membership proof, from the tuple `path`.
///
/// # Safety
/// `path` is a live tuple.
unsafe fn raw_path(
    out: &mut Vec<u8>,
    l: &Levels,
    path: *mut ffi::PyObject,
) -> Result<(), Unsupported> {
    let n = ffi::PyTuple_Size(path);
    if n < 0 {
        ffi::PyErr_Clear();
        return Err(Unsupported);
    }
    let null = std::ptr::null_mut();
    let mut levels: Vec<Level> = (0..n)
        .map(|i| Level {
            proof: ffi::PyTuple_GetItem(path, i),
            label: null,
            siblings: null,
            element: null,
        })
        .collect();
    let lead = (STAGES * AHEAD) as isize;
    for step in -lead..n {
        for stage in 0..STAGES {
            let j = step + ((STAGES - stage) * AHEAD) as isize;
            if (0..n).contains(&j) {
                prefetch_stage(l, &mut levels[j as usize], stage); // before level j is written
            }
        }
        let Ok(i) = usize::try_from(step) else {
            continue;
        };
        let v = levels[i];
        if v.label.is_null() || v.element.is_null() {
            return Err(Unsupported);
        }
        let direction = raw_u64(slot_ptr(l.sibling, v.proof, 2))?;
        message(out, 0x1A, |m| {
            message(m, 0x0A, |x| raw_label(x, l, v.label))?;
            for i in 0..ffi::PyTuple_Size(v.siblings) {
                message(m, 0x12, |x| raw_element(x, l, raw_item(v.siblings, i)))?;
            }
            m.push(0x18);
            varint(m, direction);
            Ok(())
        })?;
    }
    Ok(())
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

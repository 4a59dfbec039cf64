//! ECVRF-EDWARDS25519-SHA512-TAI as akd computes it (spec/akd-compat.md section 5), on
//! curve25519-dalek 4, the curve library akd itself uses.
//!
//! Why native: in pure Python every VRF step goes through libsodium's point API, which decodes
//! and validates each 32-byte input and re-encodes each result; dalek keeps decoded points
//! between steps, and a batch here runs without the GIL on several threads. Why dalek and not
//! any curve library: akd's leniencies (non-canonical `y`, torsion in keys and Gamma, `s`
//! reduced mod q) are dalek's decoding, so this path reproduces them by construction. The
//! pure-Python module `glasskey.core.ecvrf` stays the reference; `tests/core/test_native.py`
//! checks both give identical bytes and identical errors.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

const SUITE: u8 = 0x03;
const PROOF_BYTES: usize = 80;

/// Error texts, identical to the pure-Python module's (the differential test compares them).
const ERR_PROOF_LENGTH: &str = "Invalid proof length, expected 80 bytes";
const ERR_GAMMA: &str = "VRF proof: Gamma does not decompress to an edwards25519 point";
const ERR_MISMATCH: &str = "VRF proof failed to verify for this public key";
const ERR_NO_POINT: &str = "encode_to_curve: no curve point found in 256 attempts";
const ERR_KEY_POINT: &str = "VRF public key does not decompress to an edwards25519 point";
const ERR_KEY_SMALL: &str = "VRF public key is of small order";

/// `y >= p` for the low 255 bits of a little-endian encoding (p = 2^255 - 19): strict RFC 8032
/// decoding rejects it, dalek's `decompress` would reduce it.
fn y_is_non_canonical(t: &[u8; 32]) -> bool {
    (t[31] & 0x7f) == 0x7f && t[1..31].iter().all(|&b| b == 0xff) && t[0] >= 0xed
}

/// encode_to_curve by try-and-increment (section 5.3): strict decoding, cofactor cleared,
/// identity results skipped. (Callers compress H only when they hash it: an inversion each.)
fn encode_to_curve(pk: &[u8], alpha: &[u8]) -> Result<EdwardsPoint, &'static str> {
    let mut prefix = Sha512::new();
    prefix.update([SUITE, 0x01]);
    prefix.update(pk);
    prefix.update(alpha);
    for ctr in 0..=255u8 {
        let mut h = prefix.clone();
        h.update([ctr, 0x00]);
        let digest = h.finalize();
        let mut t = [0u8; 32];
        t.copy_from_slice(&digest[..32]);
        if y_is_non_canonical(&t) {
            continue;
        }
        if let Some(point) = CompressedEdwardsY(t).decompress() {
            let cleared = point.mul_by_cofactor();
            if !cleared.is_identity() {
                return Ok(cleared);
            }
        }
    }
    Err(ERR_NO_POINT)
}

fn challenge(pk: &[u8], h: &[u8; 32], gamma: &[u8; 32], u: &[u8; 32], v: &[u8; 32]) -> [u8; 16] {
    let digest = Sha512::new()
        .chain_update([SUITE, 0x02])
        .chain_update(pk)
        .chain_update(h)
        .chain_update(gamma)
        .chain_update(u)
        .chain_update(v)
        .chain_update([0x00])
        .finalize();
    let mut c = [0u8; 16];
    c.copy_from_slice(&digest[..16]);
    c
}

fn beta_of(gamma: &EdwardsPoint) -> [u8; 64] {
    let digest = Sha512::new()
        .chain_update([SUITE, 0x03])
        .chain_update(gamma.mul_by_cofactor().compress().as_bytes())
        .chain_update([0x00])
        .finalize();
    let mut out = [0u8; 64];
    out.copy_from_slice(&digest);
    out
}

fn scalar_of_challenge(c: &[u8; 16]) -> Scalar {
    let mut wide = [0u8; 32];
    wide[..16].copy_from_slice(c);
    // c < 2^128 < q: the scalar is c itself, so c·P is exact even for P with torsion.
    Scalar::from_bytes_mod_order(wide)
}

/// A VRF secret key expanded once (section 5.2). Secret parts are wiped on drop.
#[pyclass(frozen, module = "glasskey_native")]
pub struct SecretKey {
    x: Scalar,
    x8: Scalar,
    nonce_key: [u8; 32],
    public: [u8; 32],
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.x.zeroize();
        self.x8.zeroize();
        self.nonce_key.zeroize();
    }
}

struct Evaluation {
    proof: [u8; PROOF_BYTES],
    beta: [u8; 64],
}

impl SecretKey {
    fn evaluate_one(&self, alpha: &[u8]) -> Result<Evaluation, &'static str> {
        let h = encode_to_curve(&self.public, alpha)?;
        let h_bytes = h.compress().to_bytes();
        let gamma = self.x * h;
        let mut nonce_hash = Sha512::new();
        nonce_hash.update(self.nonce_key);
        nonce_hash.update(h_bytes);
        let mut wide = [0u8; 64];
        wide.copy_from_slice(&nonce_hash.finalize());
        let mut k = Scalar::from_bytes_mod_order_wide(&wide);
        wide.zeroize();
        let u = EdwardsPoint::mul_base(&k);
        let v = k * h;
        let gamma_bytes = gamma.compress().to_bytes();
        let c = challenge(
            &self.public,
            &h_bytes,
            &gamma_bytes,
            &u.compress().to_bytes(),
            &v.compress().to_bytes(),
        );
        let s = k + scalar_of_challenge(&c) * self.x;
        k.zeroize();
        let mut proof = [0u8; PROOF_BYTES];
        proof[..32].copy_from_slice(&gamma_bytes);
        proof[32..48].copy_from_slice(&c);
        proof[48..].copy_from_slice(s.as_bytes());
        Ok(Evaluation {
            proof,
            beta: beta_of(&gamma),
        })
    }

    /// beta alone: `8·Gamma = (8x mod q)·H`, one scalar multiplication.
    fn output_one(&self, alpha: &[u8]) -> Result<[u8; 64], &'static str> {
        let h = encode_to_curve(&self.public, alpha)?;
        let digest = Sha512::new()
            .chain_update([SUITE, 0x03])
            .chain_update((self.x8 * h).compress().as_bytes())
            .chain_update([0x00])
            .finalize();
        let mut out = [0u8; 64];
        out.copy_from_slice(&digest);
        Ok(out)
    }
}

/// Runs `work` over `items` on up to `threads` OS threads (scoped; order preserved).
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> Result<R, &'static str> + Sync,
) -> Result<Vec<R>, &'static str> {
    // Below ~32 inputs per thread, starting a thread costs more than it saves.
    let threads = threads.clamp(1, 64).min(items.len() / 32).max(1);
    if threads == 1 {
        return items.iter().map(&work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let work = &work;
    let parts: Vec<Result<Vec<R>, &'static str>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(work).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err("VRF worker thread panicked")))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// Copies the inputs out of Python objects so the batch can run without the GIL.
fn owned(alphas: &[Bound<'_, PyBytes>]) -> Vec<Vec<u8>> {
    alphas.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn value_error(message: &'static str) -> PyErr {
    PyValueError::new_err(message)
}

/// The 32 bytes of a key, or the pure-Python module's wrong-length message.
fn key_bytes(key: &[u8], what: &str) -> PyResult<[u8; 32]> {
    key.try_into().map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be 32 bytes, got {} (wrong length)",
            key.len()
        ))
    })
}

/// Gamma of an 80-byte proof, decoded with dalek's leniency.
fn proof_gamma(proof: &[u8]) -> Result<EdwardsPoint, &'static str> {
    if proof.len() != PROOF_BYTES {
        return Err(ERR_PROOF_LENGTH);
    }
    let mut gamma_bytes = [0u8; 32];
    gamma_bytes.copy_from_slice(&proof[..32]);
    CompressedEdwardsY(gamma_bytes)
        .decompress()
        .ok_or(ERR_GAMMA)
}

#[pymethods]
impl SecretKey {
    /// Expand a 32-byte seed: `h = SHA-512(seed)`, `x = clamp(h[0..32]) mod q`, nonce key
    /// `h[32..64]`, public key `x·B`.
    #[new]
    fn new(seed: &[u8]) -> PyResult<Self> {
        let mut seed = key_bytes(seed, "VRF secret key")?;
        let mut h = [0u8; 64];
        h.copy_from_slice(&Sha512::digest(seed));
        seed.zeroize();
        let mut clamped = [0u8; 32];
        clamped.copy_from_slice(&h[..32]);
        clamped[0] &= 248;
        clamped[31] &= 63;
        clamped[31] |= 64;
        let x = Scalar::from_bytes_mod_order(clamped);
        let mut nonce_key = [0u8; 32];
        nonce_key.copy_from_slice(&h[32..]);
        clamped.zeroize();
        h.zeroize();
        let public = EdwardsPoint::mul_base(&x).compress().to_bytes();
        Ok(SecretKey {
            x,
            x8: Scalar::from(8u8) * x,
            nonce_key,
            public,
        })
    }

    #[getter]
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.public)
    }

    /// The 80-byte proof for `alpha`.
    fn prove<'py>(&self, py: Python<'py>, alpha: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let e = self.evaluate_one(alpha).map_err(value_error)?;
        Ok(PyBytes::new(py, &e.proof))
    }

    /// `(proof, beta)` in one pass.
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        alpha: &[u8],
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let e = self.evaluate_one(alpha).map_err(value_error)?;
        Ok((PyBytes::new(py, &e.proof), PyBytes::new(py, &e.beta)))
    }

    /// beta (64 bytes) without a proof.
    fn output<'py>(&self, py: Python<'py>, alpha: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let beta = self.output_one(alpha).map_err(value_error)?;
        Ok(PyBytes::new(py, &beta))
    }

    /// The 32-byte node label (`beta[0..32]`) of each alpha, on `threads` threads, GIL released.
    fn labels<'py>(
        &self,
        py: Python<'py>,
        alphas: Vec<Bound<'py, PyBytes>>,
        threads: usize,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let alphas = owned(&alphas);
        let betas = py
            .allow_threads(|| parallel_map(&alphas, threads, |a| self.output_one(a)))
            .map_err(value_error)?;
        Ok(betas.iter().map(|b| PyBytes::new(py, &b[..32])).collect())
    }

    /// The 80-byte proof of each alpha, on `threads` threads, GIL released.
    fn proofs<'py>(
        &self,
        py: Python<'py>,
        alphas: Vec<Bound<'py, PyBytes>>,
        threads: usize,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let alphas = owned(&alphas);
        let evaluations = py
            .allow_threads(|| parallel_map(&alphas, threads, |a| self.evaluate_one(a)))
            .map_err(value_error)?;
        Ok(evaluations
            .iter()
            .map(|e| PyBytes::new(py, &e.proof))
            .collect())
    }

    /// `(80-byte proof, 32-byte node label)` of each alpha, on `threads` threads, GIL released.
    fn evaluations<'py>(
        &self,
        py: Python<'py>,
        alphas: Vec<Bound<'py, PyBytes>>,
        threads: usize,
    ) -> PyResult<Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
        let alphas = owned(&alphas);
        let evaluations = py
            .allow_threads(|| parallel_map(&alphas, threads, |a| self.evaluate_one(a)))
            .map_err(value_error)?;
        Ok(evaluations
            .iter()
            .map(|e| (PyBytes::new(py, &e.proof), PyBytes::new(py, &e.beta[..32])))
            .collect())
    }
}

/// A VRF public key, validated as akd's `VRFPublicKey::try_from` does: 32 bytes, decompresses
/// (dalek semantics), not of small order.
#[pyclass(frozen, module = "glasskey_native")]
pub struct PublicKey {
    bytes: [u8; 32],
    negated: EdwardsPoint,
}

impl PublicKey {
    fn verify_one(&self, proof: &[u8], alpha: &[u8]) -> Result<[u8; 64], &'static str> {
        let gamma = proof_gamma(proof)?;
        let mut c = [0u8; 16];
        c.copy_from_slice(&proof[32..48]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&proof[48..]);
        let s = Scalar::from_bytes_mod_order(s_bytes); // reduced, not range-checked (akd)
        let c_scalar = scalar_of_challenge(&c);
        let h = encode_to_curve(&self.bytes, alpha)?;
        let h_bytes = h.compress().to_bytes();
        // U = s·B - c·Y and V = s·H - c·Gamma, variable time (all inputs are public).
        let u = EdwardsPoint::vartime_double_scalar_mul_basepoint(&c_scalar, &self.negated, &s);
        let v = EdwardsPoint::vartime_multiscalar_mul([s, c_scalar], [h, -gamma]);
        let expected = challenge(
            &self.bytes,
            &h_bytes,
            &gamma.compress().to_bytes(),
            &u.compress().to_bytes(),
            &v.compress().to_bytes(),
        );
        if expected != c {
            return Err(ERR_MISMATCH);
        }
        Ok(beta_of(&gamma))
    }
}

#[pymethods]
impl PublicKey {
    #[new]
    fn new(key: &[u8]) -> PyResult<Self> {
        let bytes = key_bytes(key, "VRF public key")?;
        let point = CompressedEdwardsY(bytes)
            .decompress()
            .ok_or_else(|| value_error(ERR_KEY_POINT))?;
        if point.is_small_order() {
            return Err(value_error(ERR_KEY_SMALL));
        }
        Ok(PublicKey {
            bytes,
            negated: -point,
        })
    }

    /// Verify `proof` for `alpha`; return beta (64 bytes) or raise ValueError.
    fn verify<'py>(
        &self,
        py: Python<'py>,
        proof: &[u8],
        alpha: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let beta = self.verify_one(proof, alpha).map_err(value_error)?;
        Ok(PyBytes::new(py, &beta))
    }
}

/// beta of a proof **without verifying it** (Gamma decoded with dalek's leniency).
#[pyfunction]
pub fn proof_to_hash<'py>(py: Python<'py>, proof: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let gamma = proof_gamma(proof).map_err(value_error)?;
    Ok(PyBytes::new(py, &beta_of(&gamma)))
}

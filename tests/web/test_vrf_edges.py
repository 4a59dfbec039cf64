"""The ECVRF edge cases glasskey accepts like akd (curve25519-dalek), judged alike in Node.

The crafted proofs of ``tests/core/test_ecvrf.py`` — ``s`` above the group order, Gamma with
a torsion component (naive and forged so that akd accepts it), small-order and non-canonical
Gammas, public keys with torsion and non-canonical keys, zero challenge or ``s`` — go through
the Python verifier and glasskey-web; the results (beta, or rejected) must be identical.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from glasskey.core import _edwards25519 as ed
from glasskey.core import ecvrf
from glasskey.core.errors import VrfError
from tests.core.test_ecvrf import (
    ALPHA,
    Q,
    akd_key,
    enc,
    forge,
    non_canonical_encodings,
    point,
    small_order_points,
    torsion,
)
from tests.vectors import AKD_TEST_VRF_PUBLIC
from tests.web._node import compiled_web


def _cases() -> list[tuple[str, bytes, bytes, bytes]]:
    sk = akd_key()
    pk = AKD_TEST_VRF_PUBLIC
    proof = sk.prove(ALPHA)
    s = int.from_bytes(proof[48:], "little")
    cases = [("honest", pk, proof, ALPHA)]
    for j in range(1, 17):
        if s + j * Q < 2**256:
            cases.append((f"s+{j}q", pk, proof[:48] + (s + j * Q).to_bytes(32, "little"), ALPHA))
    for i, (bad, _good) in enumerate(non_canonical_encodings()):
        cases.append((f"non-canonical gamma {i}", pk, bad + proof[32:], ALPHA))
    for bad in (enc(2), enc(2 + ed.P), enc(7, 1)):
        cases.append(("undecodable gamma", pk, bad + proof[32:], ALPHA))
    for order in (2, 4, 8):
        t = torsion()[order]
        gamma_t = ed.compress(ed.add(point(proof[:32]), t))
        cases.append((f"naive torsion gamma {order}", pk, gamma_t + proof[32:], ALPHA))
        forged = forge(sk._x, sk.public_key, ALPHA, gamma_torsion=t, divisor=order)
        cases.append((f"forged torsion gamma {order}", pk, forged, ALPHA))
        key_t = ed.compress(ed.add(point(sk.public_key), t))
        for i in range(6):
            alpha = b"alpha %d" % i
            honest = ecvrf._prove_reference(sk._x, sk._nonce_key, key_t, alpha)
            cases.append((f"torsion key {order} honest {i}", key_t, honest.proof, alpha))
        cases.append(
            (f"torsion key {order} forged", key_t, forge(sk._x, key_t, ALPHA, divisor=order), ALPHA)
        )
    for i, t in enumerate(small_order_points()):
        cases.append((f"small-order gamma {i}", pk, ed.compress(t) + proof[32:], ALPHA))
        cases.append((f"small-order key {i}", ed.compress(t), proof, ALPHA))
    for i, (bad, _good) in enumerate(non_canonical_encodings()):
        cases.append((f"non-canonical key {i}", bad, proof, ALPHA))
    for i, tampered in enumerate(
        (
            proof[:32] + bytes(16) + proof[48:],
            proof[:48] + bytes(32),
            proof[:48] + Q.to_bytes(32, "little"),
            proof[:32] + bytes(48),
        )
    ):
        cases.append((f"zero c or s {i}", pk, tampered, ALPHA))
    return cases


def _python(pk: bytes, proof: bytes, alpha: bytes) -> str:
    try:
        return ecvrf.VrfPublicKey(pk).verify(proof, alpha).hex()
    except VrfError:
        return "rejected"


def test_crafted_vrf_proofs_are_judged_alike(tmp_path: Path) -> None:
    build = compiled_web()
    cases = _cases()
    path = tmp_path / "vrf.json"
    path.write_text(
        json.dumps([{"pk": k.hex(), "proof": p.hex(), "alpha": a.hex()} for _, k, p, a in cases])
    )
    run = subprocess.run(
        ["node", str(build / "tools" / "vrf.js"), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    node = json.loads(run.stdout)
    python = [_python(k, p, a) for _, k, p, a in cases]
    assert [(n, p) for (n, *_), p, j in zip(cases, python, node, strict=True) if p != j] == []
    verdicts = dict(zip((c[0] for c in cases), python, strict=True))
    # The leniency is really exercised: akd-accepted oddities verify, the rest do not.
    assert verdicts["honest"] != "rejected" and verdicts["s+1q"] == verdicts["honest"]
    assert all(verdicts[f"forged torsion gamma {o}"] == verdicts["honest"] for o in (2, 4, 8))
    assert all(verdicts[f"naive torsion gamma {o}"] == "rejected" for o in (2, 4, 8))
    assert all(verdicts[f"torsion key {o} forged"] != "rejected" for o in (2, 4, 8))
    assert verdicts["small-order key 0"] == "rejected"

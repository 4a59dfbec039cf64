"""Sizes and verify times of the IETF client features' proofs at N labels (a benchmark).

    .venv/bin/python bench/ietf.py [--sizes 100000 1000000]

As ``bench/directory.py``: the base of N labels is bulk-loaded with synthetic (SHA-256)
leaf labels — the same uniform tree shape as VRF labels, without minutes of VRF work — and
everything measured uses real VRF proofs and commitments: ``user-*`` labels with 1–3
versions, published on top. Per size it prints, for each proof, its encoded size and the
median time to generate (directory) and to verify (client-side core verifier):

* absence   — VRF proof + akd NonMembershipProof (and the whole JSON 404 body);
* version   — akd UpdateProof of one version (fixed-version search);
* history   — the complete history a contact check fetches (one request per contact);
* credential — the offline credential (lookup proof, checkpoint, inclusion, canonical JSON).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glasskey.core.akd._absence import AbsenceProof, absence_verify
from glasskey.core.akd._version import version_verify
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.verify import key_history_verify
from glasskey.core.akd.wire import (
    encode_history_proof,
    encode_lookup_proof,
    encode_update_proof,
)
from glasskey.core.ecvrf import VrfSecretKey, _verified_beta
from glasskey.core.signing import Ed25519Signer
from glasskey.directory import Directory
from glasskey.directory.akd import _labels as label_module
from glasskey.log import profile
from glasskey.log._credential import (
    Credential,
    CredentialPolicy,
    encode_credential,
    verify_credential,
)
from glasskey.log.rfc6962 import inclusion_proof
from glasskey.storage._memory import MemoryStore
from tests.vectors import AKD_TEST_VRF_SEED

CONFIG = get_configuration("whatsapp_v1")


def _median_ms(fn: Any, repeat: int = 30) -> float:
    """Median wall time of ``fn`` with the verifiers' memo caches cleared before each run
    (a verifier that has not seen these proofs: the cost a phone pays)."""
    times = []
    for _ in range(repeat):
        _verified_beta.cache_clear()
        profile.open_checkpoint.cache_clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def scenario(size: int) -> dict[str, Any]:
    directory = Directory(MemoryStore(), CONFIG, VrfSecretKey(AKD_TEST_VRF_SEED))
    real = label_module.LabelComputer.labels
    label_module.LabelComputer.labels = lambda self, alphas: [  # type: ignore[method-assign]
        hashlib.sha256(a).digest() for a in alphas
    ]
    start = time.perf_counter()
    for base in range(0, size, 100_000):
        directory.publish(
            [(b"zbase-%d" % i, b"base-key") for i in range(base, min(size, base + 100_000))]
        )
    load_s = time.perf_counter() - start
    label_module.LabelComputer.labels = real  # type: ignore[method-assign]
    directory.publish([(b"user-%d" % i, b"key-1") for i in range(1000)])
    directory.publish([(b"user-%d" % i, b"key-2") for i in range(500)])
    directory.publish([(b"user-%d" % i, b"key-3") for i in range(100)])
    epoch_hash = directory.get_epoch_hash()
    root, epoch = epoch_hash.root_hash, epoch_hash.epoch
    key = directory.vrf_public_key
    out: dict[str, Any] = {"labels": size, "leaves_approx": size + 1600, "base_load_s": load_s}

    # absence
    found, _ = directory.lookup_or_absence(b"nobody")
    assert isinstance(found, AbsenceProof)
    vrf_proof, non_membership = found.encoded()
    out["absence_bytes"] = len(vrf_proof) + len(non_membership)
    out["absence_gen_ms"] = _median_ms(lambda: directory.lookup_or_absence(b"nobody-2"))
    out["absence_verify_ms"] = _median_ms(
        lambda: absence_verify(CONFIG, key, root, b"nobody", found)
    )
    # version
    vproof, _ = directory.version_proof(b"user-7", 2)
    vbytes = encode_update_proof(vproof)
    out["version_bytes"] = len(vbytes)
    out["version_gen_ms"] = _median_ms(lambda: directory.version_proof(b"user-8", 2))
    out["version_verify_ms"] = _median_ms(
        lambda: version_verify(CONFIG, key, root, epoch, b"user-7", 2, vbytes)
    )
    # contact check: complete history of a 3-version contact
    hproof, _ = directory.key_history(b"user-7")
    hbytes = encode_history_proof(hproof)
    out["history3_bytes"] = len(hbytes)
    out["history3_verify_ms"] = _median_ms(
        lambda: key_history_verify(CONFIG, key, root, epoch, b"user-7", hbytes), 10
    )
    # credential
    lproof, _ = directory.lookup(b"user-7")
    signer = Ed25519Signer.generate()
    origin = "bench.example/log"
    leaves = [profile.epoch_leaf_hash(e, directory.epoch_root(e)) for e in range(1, epoch + 1)]
    from glasskey.log.rfc6962 import root_from_leaf_hashes

    now = int(time.time())
    note = profile.sign_checkpoint(signer, origin, epoch, root_from_leaf_hashes(leaves), now)
    credential = encode_credential(
        Credential(
            origin,
            "user-7",
            lproof.value,
            lproof.version,
            lproof.epoch,
            epoch,
            root,
            note,
            tuple(inclusion_proof(leaves, epoch - 1)),
            encode_lookup_proof(lproof),
            None,
        )
    )
    policy = CredentialPolicy(
        origin, profile.verifier_key(origin, signer.public_key), key, CONFIG.name, 3600
    )
    verify_credential(credential, policy)
    out["credential_bytes"] = len(credential)
    out["credential_verify_ms"] = _median_ms(lambda: verify_credential(credential, policy))
    out["lookup_bytes"] = len(encode_lookup_proof(lproof))
    body = {
        "absence": {
            "vrf_proof": base64.b64encode(vrf_proof).decode(),
            "non_membership_proof": base64.b64encode(non_membership).decode(),
        }
    }
    out["absence_json_proof_part_bytes"] = len(json.dumps(body))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--scenario", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.scenario)))
        return
    for size in args.sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--scenario", str(size)], capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"{size}: failed\n{done.stderr[-2000:]}")
            continue
        print(json.dumps(json.loads(done.stdout), indent=1))


if __name__ == "__main__":
    main()

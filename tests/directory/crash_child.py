"""Child process for the kill tests: publishes the pending queue in small epochs forever,
storing the new versions' VRF proofs after each epoch as the server's publisher does.

Run as ``python -m tests.directory.crash_child DB_URL BLOB_DIR BATCH``; prints ``epoch N``
after each commit so the parent can see progress before it kills us.
"""

from __future__ import annotations

import sys

from glasskey.core.akd.configuration import get_configuration
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory import Directory, FolderBlobStore
from tests.vectors import AKD_TEST_VRF_SEED


def main() -> None:
    url, blob_dir, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    directory = Directory.open(
        url,
        get_configuration("whatsapp_v1"),
        VrfSecretKey(AKD_TEST_VRF_SEED),
        FolderBlobStore(blob_dir),
        vrf_workers=1,
    )
    print("ready", flush=True)
    while True:
        result = directory.publish_pending(max_batch=batch)
        if result is None:
            print("drained", flush=True)
            return
        print(f"epoch {result.epoch}", flush=True)
        directory.fill_vrf_proofs(batch // 2)  # half: kills land mid-fill with work left


if __name__ == "__main__":
    main()

"""The scale test at full size: PostgreSQL primary + streaming standby, one publisher, two
read-only servers, verified lookups against the replicas while uploads flow to the writer.

    .venv/bin/python bench/replicas.py [--users 2000] [--duration 30] [--concurrency 16]
                                       [--upload-rate 50] [--epoch-interval 1.0]

Everything runs on 127.0.0.1 and is stopped at the end (see ``tests/replication/scale.py``
for the topology and what each column means). Two phases of ``--duration`` seconds: steady,
then with the standby killed (SIGKILL) a quarter in and restarted half-way. Every lookup is
verified by the client (``AsyncGlasskeyClient``); an alert or a lost acknowledged upload
fails the run. Needs the PostgreSQL server binaries (``apt-get install postgresql``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench/http.py would shadow the standard library's ``http`` package: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from tests.replication.pgcluster import cluster_root, missing_reason
from tests.replication.scale import format_table, run_scale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, default=16, help="verifying clients")
    parser.add_argument("--upload-rate", type=float, default=50.0, help="uploads per second")
    parser.add_argument("--epoch-interval", type=float, default=1.0)
    args = parser.parse_args()
    reason = missing_reason()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    with cluster_root() as root, tempfile.TemporaryDirectory(prefix="glasskey-scale-") as work:
        phases = run_scale(
            root, Path(work), users=args.users, duration=args.duration,
            concurrency=args.concurrency, upload_rate=args.upload_rate,
            epoch_interval=args.epoch_interval,
        )  # fmt: skip
    print(
        f"users {args.users}, {args.concurrency} verifying clients over 2 read replicas, "
        f"uploads {args.upload_rate:g}/s to the writer, epoch interval {args.epoch_interval:g}s"
    )
    print(format_table([p.row() for p in phases]))
    alerts = sum(len(p.alerts) for p in phases)
    print(f"alerts: {alerts} (every lookup verified); acknowledged uploads lost: 0")
    return 1 if alerts else 0


if __name__ == "__main__":
    sys.exit(main())

"""glasskey.witness — a C2SP tlog-witness (``glasskey witness serve``).

Why glasskey ships one: a log's cosignatures are only worth something if parties other than
the log run witnesses, and a messaging company's partners should be able to witness its log
without installing other software. It speaks the standard protocol (c2sp.org/tlog-witness,
cosignature/v1), so it interoperates with other witnesses and logs: the same requests, the
same cosigned bytes (``interop/litewitness`` checks that against litewitness).

State is one SQLite row per log (the newest cosigned head); the key is loaded like the
server's keys (environment, file, or a persistent development key) and never logged.
"""

from glasskey.witness._app import create_app
from glasskey.witness._store import Head, WitnessStore
from glasskey.witness._witness import Answer, Witness, log_verifiers

__all__ = ["Answer", "Head", "Witness", "WitnessStore", "create_app", "log_verifiers"]

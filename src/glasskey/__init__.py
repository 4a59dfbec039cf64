"""glasskey: key transparency for end-to-end encrypted messaging.

Public entry points:

* :mod:`glasskey.core` — pure verification (no I/O): ECVRF, AKD proofs, errors.
* :mod:`glasskey.log` — the RFC 6962 log of epoch roots and its signed checkpoints.
* :mod:`glasskey.directory` — the AKD directory engine (publish, proofs).
* :mod:`glasskey.server`, :mod:`glasskey.auditor`, :mod:`glasskey.client` — services.
"""

__version__ = "0.1.0"

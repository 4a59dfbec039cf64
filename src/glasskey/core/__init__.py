"""glasskey.core — pure verification: no I/O, no global state.

A client or an auditor needs only this package. Public API:

* :mod:`glasskey.core.errors` — the one exception hierarchy.
* :mod:`glasskey.core.ecvrf` — RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI.
* :mod:`glasskey.core.akd` — facebook/akd compatible configurations, labels, proofs,
  protobuf codec and the verifiers (``lookup_verify``, ``key_history_verify``,
  ``audit_verify``).
"""

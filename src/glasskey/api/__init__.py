"""The wire contract of glasskey's HTTP APIs, shared by the servers and their clients.

* ``glasskey.api.wire`` — the JSON bodies (pydantic models; parsing them is strict);
* ``glasskey.api.encoding`` — how hashes (hex) and keys and proofs (base64) are written;
* ``glasskey.api.headers`` — the ``X-Glasskey-*`` headers of the protobuf variant;
* ``glasskey.api.errors`` — HTTP statuses of the error classes and the way back;
* ``glasskey.api.keybundle`` — the canonical multi-device key bundle value (apps and clients).

It sits beside ``log`` and ``storage``: it imports only ``glasskey.core`` (and pydantic).
"""

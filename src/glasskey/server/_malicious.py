"""A deliberately malicious server, as an httpx transport that tampers with real responses.

For the demo and the tests only: it shows that the verifying client catches each way a key
server can lie. Wrapping a *real* server's answers (instead of hand-writing bad JSON) keeps
the attacks realistic — everything except the one lie is genuine and validly signed.

Attacks (``Attack`` values):

* ``FORGE_KEY``   — swap the key in the response *and inside the protobuf proof*;
* ``WRONG_LABEL`` — answer a lookup for A with B's genuine, valid bundle;
* ``ROLLBACK``    — replay the first response recorded for that path (an older, genuinely
  signed checkpoint and key);
* ``SPLIT_VIEW``  — send the request to a second server with the same keys but another
  history (a fork: both views are signed by the log key);
* ``BAD_SIGNATURE`` — corrupt one byte of the checkpoint's signature;
* ``HIDE_USER``   — answer bundle and history requests for ``substitute`` with a bare 404
  (no proof of absence), as if that user had never published.

And one lie a transport cannot tell, told by the server process itself:
``freeze_publishing()`` makes ``glasskey serve`` (in the process that calls it) keep
accepting uploads and re-signing its old head at every tick while it never publishes another
epoch — a frozen head that looks perfectly fresh. Start such a process with
``FROZEN_SERVE_MAIN`` as the ``python -c`` program (then ``serve`` and its options).

``lie_about_users()`` (program ``LYING_SERVE_MAIN``) makes the process lie about chosen users
while everything else stays honest: the users named in ``$GLASSKEY_MALICIOUS_HIDE`` (comma
separated) get a bare 404 — no proof of absence — for their bundle and their history, as if
they had never published; for those in ``$GLASSKEY_MALICIOUS_TRUNCATE`` the history answer
keeps only the newest version (a genuine ``MostRecent(1)`` proof) while claiming to be the
complete history, so the versions a contact saw earlier vanish from it.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace
from enum import StrEnum
from typing import Any

import httpx

from glasskey.core.akd.types import EpochHash
from glasskey.core.akd.wire import decode_lookup_proof, encode_lookup_proof
from glasskey.directory import LabelNotFound
from glasskey.server._reads import DirectoryReads
from glasskey.server._results import Absence, Bundle, History, VersionBundle
from glasskey.server._service import DirectoryService

#: ``python -c`` program: ``glasskey ...`` with publishing frozen (``freeze_publishing``).
FROZEN_SERVE_MAIN = (
    "from glasskey.server._malicious import freeze_publishing; freeze_publishing(); "
    "from glasskey.cli import main; main()"
)


#: ``python -c`` program: ``glasskey ...`` lying about the users named in the environment
#: (``lie_about_users``).
LYING_SERVE_MAIN = (
    "from glasskey.server._malicious import lie_about_users; lie_about_users(); "
    "from glasskey.cli import main; main()"
)


class Attack(StrEnum):
    NONE = "none"
    FORGE_KEY = "forge_key"
    WRONG_LABEL = "wrong_label"
    ROLLBACK = "rollback"
    SPLIT_VIEW = "split_view"
    BAD_SIGNATURE = "bad_signature"
    HIDE_USER = "hide_user"


def _json_response(original: httpx.Response, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        original.status_code,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
    )


class MaliciousTransport(httpx.BaseTransport):
    """Forwards to ``honest`` and lies according to ``self.attack`` (switchable at runtime)."""

    def __init__(
        self,
        honest: httpx.BaseTransport,
        fork: httpx.BaseTransport | None = None,
        forged_key: bytes = b"attacker-controlled-key",
    ) -> None:
        self.honest = honest
        self.fork = fork
        self.forged_key = forged_key
        self.attack = Attack.NONE
        self.recorded: dict[str, httpx.Response] = {}
        self._recorded_bodies: dict[str, bytes] = {}

    def _forward(self, request: httpx.Request, transport: httpx.BaseTransport) -> httpx.Response:
        response = transport.handle_request(request)
        response.read()
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        attack = self.attack
        if attack is Attack.SPLIT_VIEW and self.fork is not None:
            return self._forward(request, self.fork)
        if attack is Attack.ROLLBACK and path in self._recorded_bodies:
            old = self.recorded[path]
            return httpx.Response(
                old.status_code, headers=old.headers, content=self._recorded_bodies[path]
            )
        if (
            attack is Attack.HIDE_USER
            and path.startswith(("/api/crypto/bundles/", "/api/crypto/history/"))
            and path.rsplit("/", 1)[1] == self.substitute
        ):
            bare = {"error": {"code": "not_found", "message": "no published version"}}
            return httpx.Response(404, json=bare)
        if attack is Attack.WRONG_LABEL and path.startswith("/api/crypto/bundles/"):
            asked = path.rsplit("/", 1)[1]
            other = request.url.copy_with(path="/api/crypto/bundles/" + self._victim_of(asked))
            response = self._forward(httpx.Request("GET", other), self.honest)
            if response.status_code == 200:
                body = response.json()
                body["user_id"] = asked
                return _json_response(response, body)
            return response
        response = self._forward(request, self.honest)
        if path not in self._recorded_bodies and response.status_code == 200:
            self.recorded[path] = response
            self._recorded_bodies[path] = response.content
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            return response
        if attack is Attack.FORGE_KEY and path.startswith("/api/crypto/bundles/"):
            body = response.json()
            proof = decode_lookup_proof(base64.b64decode(body["proof"]))
            forged = encode_lookup_proof(replace(proof, value=self.forged_key))
            body["proof"] = base64.b64encode(forged).decode()
            body["key"] = base64.b64encode(self.forged_key).decode()
            return _json_response(response, body)
        if attack is Attack.BAD_SIGNATURE:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("checkpoint"), str):
                body["checkpoint"] = _corrupt_signature(body["checkpoint"])
                return _json_response(response, body)
        return response

    #: For WRONG_LABEL: whose bundle to serve instead (set by the caller).
    substitute: str = ""

    def _victim_of(self, asked: str) -> str:
        return self.substitute or asked


def _corrupt_signature(note: str) -> str:
    """Flip one bit in the first signature's Ed25519 bytes (keeping the base64 valid)."""
    text, _, sigs = note.rpartition("\n\n")
    lines = sigs.split("\n")
    prefix, _, b64 = lines[0].rpartition(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 0x01
    lines[0] = f"{prefix} {base64.b64encode(bytes(raw)).decode()}"
    return text + "\n\n" + "\n".join(lines)


def freeze_publishing() -> None:
    """Make every ``DirectoryService`` of this process stop publishing but keep signing.

    Each publisher tick still catches the root log up and re-signs the head checkpoint (at
    every tick, not once a minute, so even a client with a tiny ``max_age`` sees a fresh
    head), but the queue of accepted uploads is never drained into an epoch.
    """
    publish = DirectoryService.publish_once

    def publish_nothing(self: DirectoryService, drain: bool = True) -> EpochHash | None:
        publish(self, drain=False)
        self.rootlog.sign_checkpoint()
        return None

    DirectoryService.publish_once = publish_nothing  # type: ignore[method-assign]


def _names(variable: str) -> frozenset[str]:
    return frozenset(n for n in os.environ.get(variable, "").split(",") if n)


def lie_about_users() -> None:
    """Patch ``DirectoryReads`` in this process: hide ``$GLASSKEY_MALICIOUS_HIDE`` behind bare
    404s and truncate the history of ``$GLASSKEY_MALICIOUS_TRUNCATE`` (see the module doc).

    The names are read at every request, from the environment of this process, so a test
    restarts the same log (database, keys, port) with them set.
    """
    lookup, history = DirectoryReads.lookup, DirectoryReads.history

    async def hiding_lookup(
        self: DirectoryReads, user_id: str, known_size: int | None, version: int | None = None
    ) -> Bundle | VersionBundle | Absence:
        if user_id in _names("GLASSKEY_MALICIOUS_HIDE"):
            raise LabelNotFound(f"label {user_id!r} has no published version")
        return await lookup(self, user_id, known_size, version)

    def lying_history(
        self: DirectoryReads, user_id: str, most_recent: int | None, known_size: int | None
    ) -> History:
        if user_id in _names("GLASSKEY_MALICIOUS_HIDE"):
            raise LabelNotFound(f"label {user_id!r} has no published version")
        if most_recent is None and user_id in _names("GLASSKEY_MALICIOUS_TRUNCATE"):
            truncated = history(self, user_id, 1, known_size)
            return replace(truncated, most_recent=None)  # claims to be Complete
        return history(self, user_id, most_recent, known_size)

    DirectoryReads.lookup = hiding_lookup  # type: ignore[method-assign]
    DirectoryReads.history = lying_history  # type: ignore[method-assign]

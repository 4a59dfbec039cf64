"""Checking an auditor from the outside, as plexi's CLI does (``glasskey audit ...``).

Kept out of the CLI module so the logic is testable and reusable; the CLI only prints. The
status words and layouts are plexi's (spec auditor-compat.md 5.2, 5.5) so that scripts and
docs written for ``plexi`` read glasskey's output unchanged. Where plexi is lax, this is
stricter (spec 5.6): every key with the right key id and ``not_before`` is tried,
``serialized_message`` must match, and the previous epoch's signature is verified too before
its digest is used as the proof's start root.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from glasskey.auditor._client import AuditorClient
from glasskey.auditor._sources import BlobMissing, BlobSource, VerifyBlob, source_for
from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.core.errors import GlasskeyError, MalformedError, NotFound
from glasskey.core.plexi import (
    KeyInfo,
    NamespaceInfo,
    SignatureResponse,
    ciphersuite_display,
    parse_root,
)

SUCCESS = "success"
DISABLED = "-"
#: The status of an anchor epoch (``--root``): it matches the root, and nothing proves it.
ROOT_PREFIX = "root - "
#: The first epoch grows the empty tree; its proof exists like any other.
FIRST_EPOCH = 1


def root_only(epoch: int) -> str:
    """Said instead of "success" for an anchor epoch, whose proof does not exist: a
    matching digest is all that could be checked."""
    return (
        f"{ROOT_PREFIX}epoch {epoch} is the namespace's root (an anchor): its digest matches "
        "the root, but no audit proof exists for it (nothing before it was checked)"
    )


def failed(reason: str) -> str:
    return f"failed - {reason}"


def is_failed(status: str) -> bool:
    return status.startswith("failed")


@dataclass
class AuditResult:
    signature: SignatureResponse
    signature_status: str
    proof_status: str

    @property
    def ok(self) -> bool:
        return not (is_failed(self.signature_status) or is_failed(self.proof_status))

    def short(self) -> str:
        if self.proof_status == DISABLED or is_failed(self.signature_status):
            return self.signature_status
        return self.proof_status

    def long(self) -> str:
        s = self.signature
        when = dt.datetime.fromtimestamp(s.timestamp // 1000, tz=dt.UTC)
        lines = [
            "Namespace",
            f"  {'Name':<22}: {s.namespace}",
            f"  {'Ciphersuite':<22}: {ciphersuite_display(s.ciphersuite)}",
            f"\nSignature ({when:%Y-%m-%dT%H:%M:%SZ})",
            f"  {'Epoch height':<22}: {s.epoch}",
            f"  {'Epoch digest':<22}: {s.digest.hex()}",
            f"  {'Signature':<22}: {s.signature.hex()}",
            f"  {'Signature verification':<22}: {self.signature_status}",
            f"  {'Proof verification':<22}: {self.proof_status}",
        ]
        return "\n".join(lines)

    def to_json_dict(self) -> dict[str, Any]:
        reason = None
        for status in (self.signature_status, self.proof_status):
            if is_failed(status):
                reason = status[len("failed - ") :]
                break
        s = self.signature
        return {
            "namespace": s.namespace,
            "epoch": s.epoch,
            "digest": s.digest.hex(),
            "timestamp": s.timestamp,
            "ciphersuite": s.ciphersuite,
            "key_id": s.key_id,
            "signature": s.signature.hex(),
            "signature_status": _word(self.signature_status),
            "proof_status": _word(self.proof_status),
            "reason": reason,
        }


def _word(status: str) -> str:
    if status == DISABLED:
        return "disabled"
    if status.startswith(ROOT_PREFIX):
        return "root"
    return "failed" if is_failed(status) else status


def format_ls(namespaces: Sequence[NamespaceInfo], long: bool) -> str:
    """plexi ls: names, or per namespace a block of four padded fields."""
    if not long:
        return "\n".join(n.name for n in namespaces)
    blocks = []
    for n in namespaces:
        blocks.append(
            "\n".join(
                [
                    n.name,
                    f"  {'Status':<11}: {n.status.value}",
                    f"  {'Ciphersuite':<11}: {ciphersuite_display(n.ciphersuite)}",
                    f"  {'Root':<11}: {n.root or '-'}",
                    f"  {'Directory':<11}: {n.log_directory or '-'}",
                    "\n",
                ]
            )
        )
    return "\n".join(blocks)


def default_epoch(client: AuditorClient, namespace: str) -> int:
    """plexi's choice: the last verified epoch; glasskey falls back to the latest signed."""
    try:
        return client.last_verified(namespace).epoch
    except NotFound:
        pass
    try:
        return client.latest(namespace).epoch
    except NotFound:
        raise NotFound(
            f"namespace {namespace} does not have a latest epoch. Please specify one"
        ) from None


class Checker:
    """Signature and proof checks for one namespace, with cached keys and blob source."""

    def __init__(
        self,
        client: AuditorClient,
        namespace: str,
        *,
        verifying_key: bytes | None = None,
        verify_blob: VerifyBlob | None = None,
        source_factory: Callable[[str], BlobSource] = source_for,
        empty_root: bytes | None = None,
    ) -> None:
        """``empty_root``: the configuration's empty-tree root, from which the first epoch's
        proof starts (without it, a first epoch at the root is reported unproven)."""
        self.client = client
        self.empty_root = empty_root
        self.namespace = namespace
        self.verifying_key = verifying_key
        self.verify_blob = verify_blob
        self.source_factory = source_factory
        self._keys: Sequence[KeyInfo] | None = None
        self._info: NamespaceInfo | None = None
        self._source: BlobSource | None = None

    def close(self) -> None:
        if self._source is not None:
            self._source.close()

    def signature(self, epoch: int) -> SignatureResponse:
        try:
            return self.client.audit(self.namespace, epoch)
        except NotFound:
            raise NotFound(f"Signature not found for {self.namespace} at epoch {epoch}") from None

    def signature_status(self, response: SignatureResponse) -> str:
        if self._keys is None:
            self._keys = self.client.info().keys
        # Unlike plexi, a response without key_id is checked against every valid key.
        try:
            response.verify(self._keys, pinned=self.verifying_key)
        except GlasskeyError as exc:
            return failed(str(exc))
        return SUCCESS

    def proof_status(
        self, response: SignatureResponse, previous: SignatureResponse | None = None
    ) -> str:
        """Download and verify the epoch's audit blob (spec 5.3 steps 7-11, strict)."""
        if self.verify_blob is None:
            return DISABLED
        if self._info is None:
            try:
                self._info = self.client.namespace(self.namespace)
            except NotFound:
                return failed(f"namespace {self.namespace} does not exist")
        info = self._info
        if not info.log_directory:
            return DISABLED
        if info.root is None:
            return failed(f"namespace {self.namespace} does not have a root")
        try:
            root_epoch, root_digest = parse_root(info.root)
        except MalformedError:
            return failed(f"namespace {self.namespace} has an invalid root")
        epoch = response.epoch
        if epoch < root_epoch:
            return failed("epoch cannot be before root")
        if epoch == root_epoch:
            if response.digest != root_digest:
                return failed("epoch is at root height but does not match root digest")
            if epoch == FIRST_EPOCH and self.empty_root is not None:
                # Not an anchor: the first epoch grew the empty tree, and its proof exists.
                return self._transition_status(info.log_directory, epoch, self.empty_root,
                                               response.digest)  # fmt: skip
            return root_only(epoch)
        if previous is None:
            try:
                previous = self.signature(epoch - 1)
            except NotFound as exc:
                return failed(str(exc))
            status = self.signature_status(previous)
            if is_failed(status):
                return failed(f"previous epoch {epoch - 1}: signature does not verify")
        return self._transition_status(info.log_directory, epoch, previous.digest, response.digest)

    def _transition_status(
        self, log_directory: str, epoch: int, previous: bytes, digest: bytes
    ) -> str:
        """Fetch and verify the audit blob from ``previous`` to ``digest`` at ``epoch``."""
        if self.verify_blob is None:
            return DISABLED
        if len(previous) != 32 or len(digest) != 32:
            return failed("digest length invalid")
        name = format_audit_blob_name(epoch, previous, digest)
        if self._source is None:
            self._source = self.source_factory(log_directory)
        try:
            data = self._source.fetch(name)
        except (BlobMissing, MalformedError):
            return failed("cannot retrieve audit proof")
        try:
            self.verify_blob(name, data)
        except GlasskeyError as exc:
            return failed(f"verifying raw proof: {name}: {exc}")
        return SUCCESS

    def check(self, epoch: int, *, verify: bool = True) -> AuditResult:
        response = self.signature(epoch)
        if not verify:
            return AuditResult(response, DISABLED, DISABLED)
        signature_status = self.signature_status(response)
        if is_failed(signature_status):
            return AuditResult(response, signature_status, DISABLED)
        return AuditResult(response, signature_status, self.proof_status(response))


__all__ = [
    "DISABLED",
    "ROOT_PREFIX",
    "SUCCESS",
    "AuditResult",
    "Checker",
    "default_epoch",
    "failed",
    "format_ls",
    "is_failed",
    "root_only",
]

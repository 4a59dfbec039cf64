"""Owner monitoring: the versions of our own label against the uploads this device made.

Kept apart from the client core because it is a pure function of two ordered lists (a
longest-matching problem), tested on its own and ported as it is to the browser verifier."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from glasskey.client._alerts import Alert, UnexpectedKeyVersion, UpdateNotPublished
from glasskey.client._state import OwnUpload
from glasskey.core.akd.types import VerifyResult


def own_history_alerts(
    user_id: str,
    versions: Sequence[VerifyResult],
    uploads: Sequence[OwnUpload],
    deadline: float,
    now: float,
) -> list[Alert]:
    """Owner monitoring: the versions of our label against our uploads, both in order.

    Versions must be our uploads, in the order we sent them; an upload skipped over was
    superseded within one epoch (only the last upload per label in an epoch becomes a
    version). So the versions are matched to a subsequence of the uploads, as many as
    possible and, among those matchings, ending as late as possible. A version left over
    holds a key we never uploaded, or one we uploaded *before* an upload already published
    (an old request replayed): ``unexpected_version``. The uploads after the last matched one
    are pending, and ``update_not_published`` once older than the log's ``deadline``.
    """
    ordered = sorted(versions, key=lambda r: r.version)
    digests = [hashlib.sha256(r.value).digest() for r in ordered]
    # best[i][j]: (matched, index of the last matched upload) for the first i versions and
    # the first j uploads; tuples compare as wanted: more matches first, then a later end.
    best = [[(0, -1)] * (len(uploads) + 1) for _ in range(len(ordered) + 1)]
    for i, digest in enumerate(digests, 1):
        for j, upload in enumerate(uploads, 1):
            options = [best[i - 1][j], best[i][j - 1]]
            if upload.value_sha256 == digest:
                options.append((best[i - 1][j - 1][0] + 1, j - 1))
            best[i][j] = max(options)
    unmatched: list[int] = []
    i, j = len(ordered), len(uploads)
    while i > 0:
        if j > 0 and uploads[j - 1].value_sha256 == digests[i - 1] and best[i][j] == (
            best[i - 1][j - 1][0] + 1, j - 1,
        ):  # fmt: skip
            i, j = i - 1, j - 1
        elif best[i - 1][j] == best[i][j] or j == 0:
            unmatched.append(i - 1)
            i -= 1
        else:
            j -= 1
    last = best[len(ordered)][len(uploads)][1]
    alerts: list[Alert] = []
    for index in reversed(unmatched):
        result = ordered[index]
        if digests[index] in {u.value_sha256 for u in uploads[: last + 1]}:
            what = (
                "holds a key this client uploaded before a newer upload that is already "
                "published: an old upload was published again (a replay reverting your key)"
            )
        else:
            what = "holds a key this client did not upload"
        err = UnexpectedKeyVersion(
            f"version {result.version} of your label {user_id!r} (epoch {result.epoch}) {what}"
        )
        alerts.append(Alert.from_error(err, user_id, result.version))
    for upload in uploads[last + 1 :]:
        age = now - upload.sent_at
        if age > deadline:
            alerts.append(Alert.from_error(_not_published(user_id, upload, age, deadline), user_id))
    return alerts


def _not_published(
    user_id: str, upload: OwnUpload, age: float, deadline: float
) -> UpdateNotPublished:
    receipt = (
        f"update {upload.update_id}"
        if upload.update_id is not None
        else "no receipt: it may not have reached the server, upload it again"
    )
    return UpdateNotPublished(
        f"your upload {upload.upload_id} for {user_id!r} ({receipt}; key sha256 "
        f"{upload.value_sha256.hex()[:16]}…) was sent {age:.0f}s ago and is not in the log, "
        f"which promises publication within {deadline:g}s: the server froze its head or "
        "dropped the upload"
    )

r"""The seal of a check run (or an A/B test run): what the gate needs to trust a recorded verdict.

A check run is sealed to the version it judged by tags on the run (and the same on the version):

* the artifact digest it judged (:data:`~workbench._core.names.CHECKS_DIGEST_TAG`);
* the SHA-256 of its whole ``checks.json`` (:data:`~workbench._core.names.CHECKS_SHA_TAG`): an
  edited report no longer matches;
* an Ed25519 signature by the key of the user who ran it (:mod:`workbench.registry.keys`), over
  the model, the version, the digest and that SHA-256: a check run forged through MLflow's API by
  someone without a registered key, or signed by a key registered to someone else, is refused.

:func:`seal_tags` makes the tags when a run is recorded; :func:`seal_problems` says why a recorded
run's seal does not hold (empty: it holds). ``promote`` refuses a run whose seal does not hold.

The same seal, with ``kind="abtest"``, binds an A/B test run (:mod:`workbench.registry.evidence`):
the kind is the first line of the signed bytes and names the tags, so an A/B seal is never
accepted as a check seal, nor the other way round. ``kind="checks"`` (the default) signs exactly
the bytes it always signed.

Example:
    >>> seal_message("m", 3, "ab" * 32, "cd" * 32).split(b"\n")[:3]
    [b'workbench-checks', b'm', b'3']
    >>> seal_message("m", 3, "ab", "cd", kind="abtest").split(b"\n")[0]
    b'workbench-abtest'
"""

from __future__ import annotations

from typing import Any

from workbench.registry import keys

__all__ = [
    "KINDS",
    "SIGNATURE_TAG",
    "SIGNER_TAG",
    "KEY_TAG",
    "seal_message",
    "seal_problems",
    "seal_tags",
]

#: Tags of the check run's signature.
SIGNER_TAG = "workbench.checks.signer"
KEY_TAG = "workbench.checks.key_id"
SIGNATURE_TAG = "workbench.checks.signature"
#: What a seal may seal, and how a message names such a run.
KINDS = {"checks": "the check run", "abtest": "the A/B test run"}
_AGAIN = {"checks": "run the checks again", "abtest": "record the A/B test again"}


def _tag_names(kind: str) -> tuple[str, str, str]:
    """The signer, key id and signature tags of a ``kind`` seal."""
    if kind not in KINDS:
        raise ValueError(f"unknown seal kind {kind!r}: use one of {', '.join(KINDS)}")
    if kind == "checks":
        return SIGNER_TAG, KEY_TAG, SIGNATURE_TAG
    return f"workbench.{kind}.signer", f"workbench.{kind}.key_id", f"workbench.{kind}.signature"


def seal_message(
    name: str, version: int | str, digest: str, sha: str, *, kind: str = "checks"
) -> bytes:
    """The bytes a ``kind`` run's signature covers (a check run's by default)."""
    _tag_names(kind)
    return f"workbench-{kind}\n{name}\n{version}\n{digest}\n{sha}".encode()


def seal_tags(
    name: str, version: int | str, digest: str, sha: str, signer: str, *, kind: str = "checks"
) -> dict[str, str]:
    """The signature tags for a ``kind`` run (a check run by default) of ``name`` v``version``
    (``signer``'s key is created and registered in the workspace on first use).

    Raises:
        GateError: ``signer`` has a registered key that this account does not hold.
    """
    from workbench.workspace import current_workspace

    signer_tag, key_tag, signature_tag = _tag_names(kind)
    keys.register(signer, current_workspace().root)
    kid, signature = keys.sign(signer, seal_message(name, version, digest, sha, kind=kind))
    return {signer_tag: signer, key_tag: kid, signature_tag: signature}


def seal_problems(
    tags: dict[str, Any],
    name: str,
    version: int | str,
    digest: str,
    sha: str,
    run_id: str,
    *,
    kind: str = "checks",
) -> list[str]:
    """Why the signature tags of ``kind`` run ``run_id`` (a check run by default) do not seal it
    to ``name`` v``version`` with ``digest`` and ``sha`` (empty: they do)."""
    from workbench.registry.team_api import allowed_signers
    from workbench.workspace import current_workspace

    signer_tag, key_tag, signature_tag = _tag_names(kind)
    run = f"{KINDS[kind]} {run_id}"
    kid, signer = str(tags.get(key_tag) or ""), str(tags.get(signer_tag) or "")
    signature = str(tags.get(signature_tag) or "")
    if not signature:
        return [f"{run} is not signed: {_AGAIN[kind]}"]
    known = keys.registered_keys(current_workspace().root)
    if kid not in known:
        return [f"{run} is signed by key {kid or '?'}, which is not registered"]
    owner, public = known[kid]
    if owner != signer:
        return [f"{run} names {signer!r} but its key {kid} is {owner!r}'s"]
    if signer not in allowed_signers(signer):
        if kind != "checks":
            return [
                f"{run} was signed by {signer!r}, not by the team server: on a team server "
                "only what the server ran counts"
            ]
        return [
            f"the check run {run_id} was run by {signer!r}, not by the team server: on a team "
            "server only the checks the server ran count (`workbench check` runs them there)"
        ]
    message = seal_message(name, version, digest, sha, kind=kind)
    if not keys.verify_signature(public, message, signature):
        return [f"the signature of {run} does not match what it seals"]
    return []

r"""The seal of a check run: what the gate needs to trust a recorded verdict.

A check run is sealed to the version it judged by tags on the run (and the same on the version):

* the artifact digest it judged (:data:`~workbench._core.names.CHECKS_DIGEST_TAG`);
* the SHA-256 of its whole ``checks.json`` (:data:`~workbench._core.names.CHECKS_SHA_TAG`): an
  edited report no longer matches;
* an Ed25519 signature by the key of the user who ran it (:mod:`workbench.registry.keys`), over
  the model, the version, the digest and that SHA-256: a check run forged through MLflow's API by
  someone without a registered key, or signed by a key registered to someone else, is refused.

:func:`seal_tags` makes the tags when a run is recorded; :func:`seal_problems` says why a recorded
run's seal does not hold (empty: it holds). ``promote`` refuses a run whose seal does not hold.

Example:
    >>> seal_message("m", 3, "ab" * 32, "cd" * 32).split(b"\n")[:3]
    [b'workbench-checks', b'm', b'3']
"""

from __future__ import annotations

from typing import Any

from workbench.registry import keys

__all__ = ["SIGNATURE_TAG", "SIGNER_TAG", "KEY_TAG", "seal_message", "seal_problems", "seal_tags"]

#: Tags of the check run's signature.
SIGNER_TAG = "workbench.checks.signer"
KEY_TAG = "workbench.checks.key_id"
SIGNATURE_TAG = "workbench.checks.signature"


def seal_message(name: str, version: int | str, digest: str, sha: str) -> bytes:
    """The bytes a check run's signature covers."""
    return f"workbench-checks\n{name}\n{version}\n{digest}\n{sha}".encode()


def seal_tags(name: str, version: int | str, digest: str, sha: str, signer: str) -> dict[str, str]:
    """The signature tags for a check run of ``name`` v``version`` (``signer``'s key is created
    and registered in the workspace on first use).

    Raises:
        GateError: ``signer`` has a registered key that this account does not hold.
    """
    from workbench.workspace import current_workspace

    keys.register(signer, current_workspace().root)
    kid, signature = keys.sign(signer, seal_message(name, version, digest, sha))
    return {SIGNER_TAG: signer, KEY_TAG: kid, SIGNATURE_TAG: signature}


def seal_problems(
    tags: dict[str, Any], name: str, version: int | str, digest: str, sha: str, run_id: str
) -> list[str]:
    """Why the signature tags of check run ``run_id`` do not seal it to ``name`` v``version``
    with ``digest`` and ``sha`` (empty: they do)."""
    from workbench.registry.team_api import allowed_signers
    from workbench.workspace import current_workspace

    kid, signer = str(tags.get(KEY_TAG) or ""), str(tags.get(SIGNER_TAG) or "")
    signature = str(tags.get(SIGNATURE_TAG) or "")
    if not signature:
        return [f"the check run {run_id} is not signed: run the checks again"]
    known = keys.registered_keys(current_workspace().root)
    if kid not in known:
        return [f"the check run {run_id} is signed by key {kid or '?'}, which is not registered"]
    owner, public = known[kid]
    if owner != signer:
        return [f"the check run {run_id} names {signer!r} but its key {kid} is {owner!r}'s"]
    if signer not in allowed_signers(signer):
        return [
            f"the check run {run_id} was run by {signer!r}, not by the team server: on a team "
            "server only the checks the server ran count (`workbench check` runs them there)"
        ]
    if not keys.verify_signature(public, seal_message(name, version, digest, sha), signature):
        return [f"the signature of the check run {run_id} does not match what it seals"]
    return []

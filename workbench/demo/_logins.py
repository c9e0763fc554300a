"""Who runs the journey on a shared tracking server: each actor's login, checked before the
first notebook runs (``workbench demo --tracking-uri``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from workbench._core.remote import server_refusal
from workbench.errors import UsageError
from workbench.workspace import Workspace

__all__ = ["logins_of"]


def logins_of(
    ws: Workspace,
    tracking_uri: str | None,
    user: str | None,
    approver: str | None,
    credentials: str | os.PathLike | None,
) -> dict[str, dict[str, str]]:
    """Each actor's login as environment variables; empty on the workspace's own store."""
    uri = (tracking_uri or "").strip() or (ws.tracking_uri if ws.shared else "")
    if not uri.startswith(("http://", "https://")):
        if tracking_uri or user or approver:
            raise UsageError(
                f"--tracking-uri {tracking_uri!r} is not a tracking server (http://host:port): "
                "the demo runs as named users only against a server, such as `workbench team up`'s."
                if tracking_uri
                else "--user and --approver need --tracking-uri (a shared tracking server)."
            )
        return {}
    file = Path(credentials) if credentials else ws.root / "team" / "credentials.json"
    passwords: dict[str, str] = {}
    if credentials or file.exists():
        try:
            passwords = {str(k): str(v) for k, v in json.loads(file.read_text()).items()}
        except (OSError, ValueError, AttributeError) as err:
            raise UsageError(
                f"cannot read the credentials file {file}: {err}. Give a JSON object "
                '{"user": "password"} (`workbench team up` writes one in <workspace>/team/).'
            ) from err
    env_user = os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip()
    if env_user and os.environ.get("MLFLOW_TRACKING_PASSWORD"):
        passwords.setdefault(env_user, os.environ["MLFLOW_TRACKING_PASSWORD"])
    scientist = user or env_user or ("ds1" if "ds1" in passwords else "")
    approver = approver or ("approver" if "approver" in passwords else scientist)
    if not scientist:
        raise UsageError(
            f"who runs the demo on {uri}? Give --user NAME with a credentials file, or set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD."
        )
    logins = {}
    for actor, name in (("scientist", scientist), ("approver", approver)):
        if name not in passwords:
            raise UsageError(
                f"no password for {actor} {name!r}: add it to {file} or set "
                "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD for that user."
            )
        logins[actor] = {
            "MLFLOW_TRACKING_URI": uri,
            "MLFLOW_TRACKING_USERNAME": name,
            "MLFLOW_TRACKING_PASSWORD": passwords[name],
        }
        _check_login(uri, name, passwords[name])
    return logins


def _check_login(uri: str, user: str, password: str) -> None:
    """Fail before the first notebook when the server does not accept ``user``."""
    import requests

    try:
        answer = requests.post(
            f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search",
            json={"max_results": 1}, auth=(user, password), timeout=30,
        )  # fmt: skip
    except requests.RequestException as err:
        raise UsageError(
            f"the tracking server {uri} does not answer ({type(err).__name__}): start it "
            "(`workbench team up`) or check the URI."
        ) from err
    if answer.status_code in (401, 403):
        err = requests.HTTPError(str(answer.status_code), response=answer)
        raise server_refusal(err, "running the demo", user=user, server=uri) or err

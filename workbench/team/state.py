"""Where a team server keeps its files, and the state and secrets it writes there.

Everything lives under ``<workspace>/team/``::

    team/
      pgdata/            PostgreSQL's data directory (owned by the user PostgreSQL runs as)
      artifacts/         the tracking server's proxied artifact store
      logs/              postgres.log, mlflow.log
      basic_auth.ini     MLflow's auth configuration (0600)
      secrets.json       database passwords and the Flask secret key (0600)
      credentials.json   each person's MLflow user name and password (0600)
      state.json         pids and ports of the running servers
      keys/              the server's signing key (0600)
      service/           the workspace of the server's own promotions and checks:
                         gate_policy.json and team_settings.json (set by `team policy`), keys/

Example:
    >>> import tempfile
    >>> paths = TeamPaths.under(tempfile.mkdtemp())
    >>> paths.state.name
    'state.json'
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
from dataclasses import dataclass
from pathlib import Path

from workbench._core.results import atomic_write
from workbench.errors import TeamError

__all__ = ["TeamError", "TeamPaths", "new_password", "read_json", "write_private_json"]


@dataclass(frozen=True)
class TeamPaths:
    """The files of one workspace's team server.

    Attributes:
        root: ``<workspace>/team``.
    """

    root: Path

    @classmethod
    def under(cls, workspace_root: str | os.PathLike) -> TeamPaths:
        """The team folder of the workspace at ``workspace_root``."""
        return cls(Path(workspace_root).expanduser().resolve() / "team")

    @property
    def pgdata(self) -> Path:
        """PostgreSQL's data directory."""
        return self.root / "pgdata"

    @property
    def artifacts(self) -> Path:
        """The proxied artifact store."""
        return self.root / "artifacts"

    @property
    def logs(self) -> Path:
        """Server logs."""
        return self.root / "logs"

    @property
    def auth_config(self) -> Path:
        """MLflow's ``basic_auth.ini``."""
        return self.root / "basic_auth.ini"

    @property
    def secrets(self) -> Path:
        """Database passwords and the Flask secret key."""
        return self.root / "secrets.json"

    @property
    def credentials(self) -> Path:
        """Each person's MLflow user name and password."""
        return self.root / "credentials.json"

    @property
    def state(self) -> Path:
        """Pids and ports of the running servers."""
        return self.root / "state.json"

    @property
    def keys(self) -> Path:
        """The server's private signing key (0600 in a 0700 folder)."""
        return self.root / "keys"

    @property
    def service(self) -> Path:
        """The workspace the server's own promotions and checks run in (its gate policy and
        registered keys live there)."""
        return self.root / "service"

    @property
    def settings(self) -> Path:
        """What the admin set with ``workbench team policy`` besides the gate policy (protected
        aliases, the checks' time limit)."""
        return self.service / "team_settings.json"


def new_password(nbytes: int = 18) -> str:
    """A random URL-safe password."""
    return _secrets.token_urlsafe(nbytes)


def read_json(path: Path) -> dict:
    """The JSON object in ``path``, or ``{}`` when the file is missing."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise TeamError(
            f"cannot read {path}: {err}. Fix or delete the file and run `workbench team up` again."
        ) from err


def write_private_json(path: Path, data: dict) -> Path:
    """Write ``data`` to ``path`` atomically, readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        atomic_write(path, json.dumps(data, indent=2) + "\n")
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return path

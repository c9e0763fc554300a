"""The settings a model server is started with, checked before anything starts.

* :func:`check_port`: 1-65535, or ``0``/``None`` meaning "pick a free one";
* :func:`check_workers`: at least one (``None``: one per core);
* :class:`EdgeSettings`: what the server's edge accepts: the ``Host`` names it answers (loopback
  only unless the user names others) and the largest request body (16 MB by default). The server
  process reads them from :data:`EDGE_ENV`, which :meth:`EdgeSettings.to_env` writes;
* :func:`max_columns`: how many columns a request may name (the edge answers 400 beyond);
* :data:`LARGEST_VALUE` and :func:`check_in_range`: the numbers any model is given, by the edge,
  batch scoring and the checks alike: finite, and within float32's range (scikit-learn's trees
  cast to float32, where ``1e308`` becomes infinity; other models return nonsense for it).

A bad value is a :class:`~workbench.errors.UsageError` (exit code 2) that names it.

Example:
    >>> check_port(0) is None, check_port("5001"), check_workers(2)
    (True, 5001, 2)
    >>> EdgeSettings.build(["Model.Internal"], 1).allows("model.internal:5001")
    True
    >>> EdgeSettings().allows("evil.example")
    False
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from workbench._core.conform import LARGEST_VALUE  # float32's largest, the one rule's
from workbench.errors import DataError, UsageError

__all__ = [
    "DEFAULT_MAX_REQUEST_MB",
    "EDGE_ENV",
    "LARGEST_VALUE",
    "LOOPBACK_HOSTS",
    "MAX_NAME_SHOWN",
    "MIN_COLUMN_CAP",
    "NONCE_ENV",
    "NONCE_PATH",
    "EdgeSettings",
    "check_hosts",
    "check_in_range",
    "check_max_request_mb",
    "check_port",
    "check_workers",
    "host_name",
    "max_columns",
    "out_of_range_counts",
    "shown_name",
]

#: ``Host`` names every server answers: the loopback addresses, with or without a port.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Largest request body, in megabytes, unless the user says otherwise.
DEFAULT_MAX_REQUEST_MB = 16.0
#: Environment variable that hands the server process its :class:`EdgeSettings` (JSON).
EDGE_ENV = "WORKBENCH_SERVING_EDGE"
#: Environment variable with the token the server answers on :data:`NONCE_PATH` (one per start).
NONCE_ENV = "WORKBENCH_SERVING_NONCE"
#: Private endpoint: the start's token, to loopback callers only (the server proves it is ours).
NONCE_PATH = "/__workbench/nonce"
#: Characters of a name (a column's, a format key's) an error message shows at most.
MAX_NAME_SHOWN = 200
#: Columns a request may name at least, whatever the model's signature (see :func:`max_columns`).
MIN_COLUMN_CAP = 256

_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_IPV6 = re.compile(r"^[0-9a-f:.]{2,45}$")


def check_port(port: Any) -> int | None:
    """``port`` as an int; ``None`` for 0 or ``None`` (pick a free port).

    Raises:
        UsageError: not a whole number from 0 to 65535.
    """
    if port is None:
        return None
    try:
        number = int(str(port).strip())
    except ValueError:
        number = -1
    if isinstance(port, float) and not port.is_integer():
        number = -1
    if isinstance(port, bool) or not 0 <= number <= 65535:
        raise UsageError(
            f"port {port!r} is not a port number: give 1-65535, or 0 (or nothing) to pick a free one."
        )
    return number or None


def check_workers(workers: Any) -> int | None:
    """``workers`` as an int of at least 1 (``None`` stays ``None``: one per core).

    Raises:
        UsageError: zero, negative or not a whole number.
    """
    if workers is None:
        return None
    try:
        number = int(str(workers).strip())
    except ValueError:
        number = 0
    if isinstance(workers, bool) or number < 1:
        raise UsageError(
            f"workers {workers!r} is not a number of server processes: give 1 or more "
            "(or nothing for one per core)."
        )
    return number


def check_max_request_mb(value: Any) -> float:
    """The request-size cap in megabytes (``None``: the default, 16).

    Raises:
        UsageError: not a positive number.
    """
    if value is None:
        return DEFAULT_MAX_REQUEST_MB
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not 0 < number < 1e6:
        raise UsageError(
            f"max request size {value!r} MB is not a size: give a positive number of megabytes "
            f"(default {DEFAULT_MAX_REQUEST_MB:g})."
        )
    return number


def check_hosts(hosts: Any) -> tuple[str, ...]:
    """Extra ``Host`` names the server may answer, lower-cased (``model.internal``, ``10.0.0.5``).

    Raises:
        UsageError: a value that is not a plain host name or address (no scheme, port or path).
    """
    if hosts is None:
        return ()
    if isinstance(hosts, str):
        hosts = [hosts]
    out = []
    for raw in hosts:
        name = str(raw).strip().lower()
        if name.startswith("[") and name.endswith("]"):
            name = name[1:-1]
        if not (_HOST_NAME.match(name) or (":" in name and _IPV6.match(name))):
            raise UsageError(
                f"allowed host {raw!r} is not a host name: give a name or address such as "
                "model.internal or 10.0.0.5 (no scheme, port or path)."
            )
        out.append(name)
    return tuple(dict.fromkeys(out))


def host_name(value: str) -> str | None:
    """The name in a ``Host`` header value (``[::1]:5001`` -> ``::1``), lower-cased; ``None``
    when it is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
        rest = ":" + port
    elif ":" in value:
        return None
    else:
        name, rest = value, ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return None
    return name or None


@dataclass(frozen=True)
class EdgeSettings:
    """What the server's edge accepts.

    Args:
        allowed_hosts: ``Host`` names answered besides :data:`LOOPBACK_HOSTS`.
        max_request_bytes: Largest request body; a larger one gets 413 before it is read.

    Example:
        >>> EdgeSettings.from_env({EDGE_ENV: EdgeSettings.build(["a.b"], 2).to_env()})
        EdgeSettings(allowed_hosts=('a.b',), max_request_bytes=2097152)
    """

    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    max_request_bytes: int = int(DEFAULT_MAX_REQUEST_MB * 1024 * 1024)

    @classmethod
    def build(cls, allowed_hosts: Any = None, max_request_mb: Any = None) -> EdgeSettings:
        """Checked settings from what a user typed.

        Raises:
            UsageError: a bad host name or size.
        """
        size = check_max_request_mb(max_request_mb)
        return cls(check_hosts(allowed_hosts), round(size * 1024 * 1024))

    def allows(self, host_header: str | None) -> bool:
        """True when the ``Host`` header names loopback or an allowed host."""
        name = host_name(host_header) if host_header else None
        return name is not None and (name in LOOPBACK_HOSTS or name in self.allowed_hosts)

    def to_env(self) -> str:
        """The JSON the server process reads from :data:`EDGE_ENV`."""
        return json.dumps(
            {"allowed_hosts": list(self.allowed_hosts), "max_request_bytes": self.max_request_bytes}
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> EdgeSettings:
        """The settings handed over in :data:`EDGE_ENV`; the defaults when absent or unreadable
        (loopback only, 16 MB)."""
        text = (os.environ if environ is None else environ).get(EDGE_ENV)
        try:
            data = json.loads(text) if text else {}
            hosts = check_hosts(data.get("allowed_hosts") or ())
            size = int(data.get("max_request_bytes") or cls.max_request_bytes)
        except (ValueError, TypeError, AttributeError, UsageError):
            return cls()
        return cls(hosts, size if size > 0 else cls.max_request_bytes)


def max_columns(signature_columns: int) -> int:
    """How many columns a request may name: four times the signature's, and at least 256.

    Example:
        >>> max_columns(10), max_columns(100)
        (256, 400)
    """
    return max(4 * int(signature_columns), MIN_COLUMN_CAP)


def out_of_range_counts(frame: Any, columns: Any = None) -> dict[str, int]:
    """How many values of each float column of ``frame`` (or of ``columns``) are infinite or beyond
    :data:`LARGEST_VALUE` in size (``1e308``; ``1e400``, which a CSV reader leaves as text). NaN,
    a missing value, is not counted.

    Example:
        >>> import pandas as pd
        >>> out_of_range_counts(pd.DataFrame({"x": [1.0, float("inf"), 1e308, None], "n": [1, 2, 3, 4]}))
        {'x': 2}
    """
    import numpy as np
    import pandas as pd

    counts = {}
    for name in frame.columns if columns is None else columns:
        col = frame[name]
        if pd.api.types.is_float_dtype(col.dtype):
            values = col.to_numpy(dtype="float64", na_value=np.nan)
        elif col.dtype == object and _as_float(col.get(col.first_valid_index())) is not None:
            # numbers read as text: a CSV column with 1e400 in it (pandas cannot parse that)
            values = np.array([_as_float(v) for v in col.to_numpy()], dtype="float64")
        else:
            continue
        with np.errstate(invalid="ignore"):
            bad = int(np.count_nonzero(np.abs(values) > LARGEST_VALUE))
        if bad:
            counts[str(name)] = bad
    return counts


def _as_float(value: Any) -> float | None:
    """``value`` as a float when it is a number or a number's text (``"1e400"`` is infinity)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def check_in_range(frame: Any, columns: Any, what: str, rest: Any = ()) -> None:
    """Refuse numbers no model can take (:func:`out_of_range_counts`), naming each column and how
    many it holds.

    Args:
        frame: The rows (a DataFrame).
        columns: The columns to look at (``None``: all).
        what: How to call the data in the message ("the eval data", a file name).
        rest: More chunks of the same data (DataFrames, or ``(DataFrame, ...)`` pairs), counted
            too once a value is found, so the message gives the whole data's count.

    Raises:
        DataError: a column holds an infinite number or one beyond :data:`LARGEST_VALUE`.
    """
    counts = out_of_range_counts(frame, columns)
    if not counts:
        return
    for chunk in rest:
        chunk = chunk[0] if isinstance(chunk, tuple) else chunk
        for name, n in out_of_range_counts(chunk, columns).items():
            counts[name] = counts.get(name, 0) + n
    named = ", ".join(
        f"{shown_name(c)} ({n:,} value{'s' if n > 1 else ''})" for c, n in counts.items()
    )
    raise DataError(
        f"{what} holds numbers no model can take, in column(s) {named}: infinite, or beyond "
        f"{LARGEST_VALUE:.4g} in size (a model computing in float32 sees infinity there). Fix or "
        "drop those rows; leave a value empty (NaN) where it is unknown."
    )


def shown_name(name: Any) -> str:
    """``name`` quoted for a message, cut to :data:`MAX_NAME_SHOWN` characters.

    Example:
        >>> shown_name("age"), len(shown_name("x" * 5000))
        ("'age'", 205)
    """
    text = str(name)
    if len(text) > MAX_NAME_SHOWN:
        return repr(text[:MAX_NAME_SHOWN]) + "..."
    return repr(text)

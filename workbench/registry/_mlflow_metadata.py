"""A model's metadata as MLflow infers it (schemas, environment files), without MLflow's
repeated work.

``mlflow.types.utils._infer_schema`` looks at every value of every column in Python: whether a
value is missing (for each column's ``required``) and, in a text column, each value's type. On
the 1,500-row demo table that is 12 ms a frame, and ``log_model`` infers four schemas (the
signature's inputs and outputs, the two lineage datasets). :func:`frame_schema` gives the same
:class:`~mlflow.types.Schema`, column by column:

* a column that is not of ``object`` dtype: MLflow's own type (``_infer_pandas_column``, which
  reads the dtype only) and ``required`` from ``isna`` (missing values of such columns are NaN,
  NaT or ``pd.NA``, the values MLflow counts);
* an ``object`` column of ``str`` values only, none missing: ``string``, required (what MLflow
  concludes for such a column); any other ``object`` column: MLflow's own inference.

Anything unexpected falls back to MLflow's own inference.

:func:`environment_files` writes ``conda.yaml``, ``requirements.txt`` and ``python_env.yaml``
as ``mlflow.sklearn.save_model`` does for pinned requirements; MLflow's processing of the same
requirements (which looks up every installed distribution to warn of mismatches the workbench's
pins, read from the installed versions, cannot have) runs once per process and requirement list.

``tests/unit/registry`` pins both to MLflow's own output. Like
:mod:`~workbench.registry._mlflow_private`, this module uses private MLflow names.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pandas as pd

__all__ = ["dataset_with_schema", "environment_files", "frame_schema", "signature_of"]


def frame_schema(frame: pd.DataFrame) -> Any:
    """``mlflow.types.utils._infer_schema(frame)`` for a DataFrame, without its per-value loops
    where pandas answers the same question."""
    from mlflow.types.schema import ColSpec, DataType, Schema
    from mlflow.types.utils import _infer_pandas_column, _infer_required, _infer_schema

    if not isinstance(frame, pd.DataFrame) or frame.columns.duplicated().any():
        return _infer_schema(frame)
    specs = []
    for name in frame.columns:
        col = frame[name]
        if len(col.shape) > 1:
            return _infer_schema(frame)
        if col.dtype.kind == "O" and type(col.dtype) is not pd.StringDtype:
            if not col.isna().any() and pd.api.types.infer_dtype(col) == "string":
                specs.append(ColSpec(type=DataType.string, name=name, required=True))
            else:  # missing values of any kind, or not only text: MLflow decides
                kind = _infer_pandas_column(col)
                specs.append(ColSpec(type=kind, name=name, required=_infer_required(col)))
        else:
            kind = _infer_pandas_column(col)
            specs.append(ColSpec(type=kind, name=name, required=not bool(col.isna().any())))
    return Schema(specs)


def signature_of(inputs: pd.DataFrame, outputs: Any) -> Any:
    """``mlflow.models.infer_signature(inputs, outputs)`` with the inputs' schema from
    :func:`frame_schema` (MLflow's own call when that fails, with its fallbacks)."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.utils import _infer_schema

    try:
        return ModelSignature(inputs=frame_schema(inputs), outputs=_infer_schema(outputs))
    except Exception:
        return infer_signature(inputs, outputs)


def dataset_with_schema(dataset: Any, frame: pd.DataFrame) -> Any:
    """``dataset`` (an ``mlflow.data.from_pandas`` result on ``frame``) with its schema filled in
    by :func:`frame_schema` (MLflow computes it on first use and keeps it)."""
    try:
        dataset.__dict__["schema"] = frame_schema(frame)
    except Exception:  # noqa: S110 - MLflow infers it itself when asked
        pass
    return dataset


def environment_files(folder: str, requirements: list[str]) -> None:
    """Write ``conda.yaml``, ``requirements.txt`` (and ``constraints.txt`` when there are any)
    and ``python_env.yaml`` into ``folder`` for pinned ``requirements``, as MLflow writes them."""
    for name, text in _environment_texts(tuple(requirements)):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)


@functools.lru_cache(maxsize=16)
def _environment_texts(requirements: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    import yaml
    from mlflow.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _CONSTRAINTS_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _REQUIREMENTS_FILE_NAME,
        _process_pip_requirements,
        _PythonEnv,
    )

    conda_env, pip_requirements, pip_constraints = _process_pip_requirements(
        None, list(requirements), None
    )
    python_env = {k: v for k, v in _PythonEnv.current().to_dict().items() if v}
    texts = [
        (_CONDA_ENV_FILE_NAME, yaml.safe_dump(conda_env, default_flow_style=False)),
        (_REQUIREMENTS_FILE_NAME, "\n".join(pip_requirements)),
        (
            _PYTHON_ENV_FILE_NAME,
            yaml.safe_dump(python_env, sort_keys=False, default_flow_style=False),
        ),
    ]
    if pip_constraints:
        texts.append((_CONSTRAINTS_FILE_NAME, "\n".join(pip_constraints)))
    return tuple(texts)

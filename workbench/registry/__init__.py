"""Stage 1 and the registry: log a fitted model, read versions back, and gate the aliases.

What lives where:

* :mod:`~workbench.registry.log`            :func:`log_model`: check the inputs, evaluate, log the
  run and its model, register a version
* :mod:`~workbench.registry.trust`          the signature frame, the types skops may load, the
  pinned requirements
* :mod:`~workbench.registry._mlflow_private` the fast path of the model files (MLflow's sklearn
  save, the logged model, the compact skops file): every vendor-private API, and only here
* :mod:`~workbench.registry.versions`       register a version; model names, versions, one version
* :mod:`~workbench.registry.model_version`  :class:`ModelVersion`, what the above return
* :mod:`~workbench.registry.contracts`      the model contract of a version: made at log time,
  stored with the run, read back by :func:`model_contract`
* :mod:`~workbench.registry.gate`           :func:`promote` and :func:`rollback`: the checks'
  verdict decides, aliases move only with an audit entry
* :mod:`~workbench.registry.audit`          :class:`AuditEntry`, :func:`history` and
  :func:`verify_history`: the audit log in the ``workbench-audit`` experiment
* :mod:`~workbench.registry.safety`         no model is deserialised before its format is checked:
  :func:`fetch_model` downloads and refuses pickle and untrusted skops types
* :mod:`~workbench.registry.chain`          the audit log's hash chain and its verification
* :mod:`~workbench.registry.digest`         the artifact digest: SHA-256 over every file of a model
* :mod:`~workbench.registry.resolved`       :func:`resolve` -> :class:`ResolvedModel`: a model
  looked up once (version, files, digest, safety, contract, lazy load through the checked flavor)

Layering: the registry imports :mod:`workbench.errors`, :mod:`workbench.workspace` and
:mod:`workbench._core`; training, serving, checks and everything above may import it.
"""

from __future__ import annotations

from workbench._core.names import AUDIT_EXPERIMENT
from workbench._core.tasks import evaluate
from workbench.registry.audit import AuditEntry, history, verify_history
from workbench.registry.chain import AuditCheck
from workbench.registry.contracts import contract_if_any, model_contract
from workbench.registry.gate import promote, rollback
from workbench.registry.log import log_model
from workbench.registry.model_version import ModelVersion
from workbench.registry.resolved import ResolvedModel, resolve
from workbench.registry.safety import ArtifactSafety, ensure_loadable, fetch_model, load_checked
from workbench.registry.trust import signature_frame
from workbench.registry.versions import get_version, model_names, versions

__all__ = [
    "AUDIT_EXPERIMENT",
    "ArtifactSafety",
    "AuditCheck",
    "AuditEntry",
    "ModelVersion",
    "ResolvedModel",
    "ensure_loadable",
    "evaluate",
    "fetch_model",
    "get_version",
    "history",
    "load_checked",
    "log_model",
    "contract_if_any",
    "model_contract",
    "model_names",
    "promote",
    "resolve",
    "rollback",
    "signature_frame",
    "verify_history",
    "versions",
]

"""The registered model version: what :func:`~workbench.registry.log_model` and
:func:`~workbench.registry.get_version` return."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench._core.names import TAG

__all__ = ["ModelVersion"]


@dataclass
class ModelVersion:
    """A registered model version, as :func:`log_model` and :func:`get_version` return it.

    Attributes:
        name: Registered model name.
        version: Version number in the registry.
        model_uri: ``models:/<name>/<version>``, what serving and checks take.
        run_id: The MLflow run that logged it.
        metrics: Evaluation metrics logged with it.
        task: ``classification`` or ``regression``.
        aliases: Aliases that point at this version.
        run_url: MLflow UI address of the run.
        tags: The version's tags (the task, the target, the checks' status...).

    Example:
        >>> mv = ModelVersion("credit-risk", 3, "models:/credit-risk/3", "abc", {"roc_auc": 0.81})
        >>> mv.model_uri
        'models:/credit-risk/3'
    """

    name: str
    version: int
    model_uri: str
    run_id: str
    metrics: dict[str, float] = field(default_factory=dict)
    task: str | None = None
    aliases: list[str] = field(default_factory=list)
    run_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def summary(self) -> str:
        """One line: name, version, aliases and the held-out metrics.

        Example:
            >>> ModelVersion("m", 2, "models:/m/2", "r", {"recall": 0.5}, aliases=["challenger"]).summary()
            'm version 2 (@challenger): recall 0.5 (models:/m/2)'
        """
        aliases = ", ".join(f"@{a}" for a in self.aliases)
        scores = ", ".join(f"{self.label(k)} {v:.4g}" for k, v in sorted(self.metrics.items()))
        head = f"{self.name} version {self.version}" + (f" ({aliases})" if aliases else "")
        return f"{head}: {scores or 'no metrics'} ({self.model_uri})"

    def label(self, metric: str) -> str:
        """``metric`` as shown: ``f1 (macro)`` for a multiclass version (tagged
        ``workbench.metric_average=macro`` when it was logged), else ``f1``.

        Example:
            >>> macro = {TAG.METRIC_AVERAGE: "macro"}
            >>> ModelVersion("m", 1, "models:/m/1", "r", tags=macro).label("f1")
            'f1 (macro)'
        """
        from workbench._core.tasks import metric_label  # pandas: not on import

        return metric_label(metric, self.tags.get(TAG.METRIC_AVERAGE) == "macro")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(self.label(k))}</td>"
            f"<td style='text-align:right'>{v:.4f}</td></tr>"
            for k, v in sorted(self.metrics.items())
        )
        aliases = ", ".join(f"@{a}" for a in self.aliases) or "none"
        link = (
            f"<a href='{html.escape(self.run_url)}' target='_blank'>{html.escape(self.run_url)}</a>"
            if self.run_url
            else ""
        )
        return (
            "<div class='wb-model-version' style='border:1px solid #ccc;border-radius:6px;"
            "padding:8px 12px;display:inline-block'>"
            f"<b>{html.escape(self.name)}</b> version <b>{self.version}</b> ({aliases})<br>"
            f"<code>{html.escape(self.model_uri)}</code> &middot; {self.task or ''}<br>"
            f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>"
            f"run: {link}</div>"
        )

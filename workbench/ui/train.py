"""Stage-1 panel: choose data and a model family, then Train & log (calls ``train_and_log``)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from workbench.training import FAMILIES
from workbench.ui._common import PanelBase, fit_labels, show_figures, version_link

#: Order of the evaluation plots in the result card.
_PLOT_ORDER = (
    "roc", "precision_recall", "confusion_matrix", "predicted_vs_actual", "residuals", "importance",
)  # fmt: skip


class TrainPanel(PanelBase):
    """Train a model on demo data or a CSV and log it to MLflow, with progress and a result card.

    Args:
        dataset: ``credit_risk``, ``breast_cancer``, ``diabetes`` or a path to a CSV/Parquet file.
        target: Target column (filled in for the demo data sets).
        family: Model family.
        name: Registered model name.

    Example:
        >>> from workbench.ui import TrainPanel
        >>> panel = TrainPanel(dataset="breast_cancer", name="cancer")  # doctest: +SKIP
        >>> panel.train_button.click()                                   # doctest: +SKIP
    """

    css_class = "wb-train-panel"

    def __init__(
        self,
        dataset: str = "credit_risk",
        target: str | None = None,
        family: str = "random_forest",
        name: str = "credit-risk",
        n_estimators: int = 100,
        max_depth: int | None = None,
        C: float = 1.0,
        positive_label: str | None = None,
        protected: list[str] | None = None,
    ):
        from workbench.data import DEMO_DATASETS

        super().__init__("Stage 1 - train and log a model")
        self.last_version = None
        self.source = w.Dropdown(
            options=[*DEMO_DATASETS, "CSV / Parquet file"],
            value=dataset if dataset in DEMO_DATASETS else "CSV / Parquet file",
            description="Dataset",
        )
        self.path = w.Text(
            value="" if dataset in DEMO_DATASETS else dataset,
            placeholder="path/to/table.csv",
            description="File",
        )
        self.target = w.Text(value=target or "", placeholder="target column", description="Target")
        self.task = w.Dropdown(
            options=["auto", "classification", "regression"], value="auto", description="Task"
        )
        self.family = w.Dropdown(
            options=sorted(set(FAMILIES["classification"]) | set(FAMILIES["regression"])),
            value=family,
            description="Model",
        )
        self.n_estimators = w.IntSlider(
            value=n_estimators, min=10, max=500, step=10, description="Trees"
        )
        self.max_depth = w.IntText(value=max_depth or 0, description="Max depth")
        self.C = w.FloatLogSlider(value=C, base=10, min=-3, max=3, description="C")
        self.name = w.Text(value=name, description="Model name")
        self.positive_label = w.Text(
            value="" if positive_label is None else str(positive_label),
            placeholder="inferred for 0/1, yes/no",
            description="Positive",
        )
        self.id_columns = w.Text(placeholder="col, col (more inferred)", description="Ids")
        self.ignore = w.Text(placeholder="col, col", description="Ignore")
        self.categorical = w.Text(placeholder="numeric codes: store_id", description="Categories")
        self.protected = w.Text(
            value=", ".join(protected or []), placeholder="col, col", description="Protected"
        )
        fit_labels(
            self.source, self.path, self.target, self.task, self.family, self.n_estimators,
            self.max_depth, self.C, self.name, self.positive_label, self.id_columns, self.ignore,
            self.protected, self.categorical,
        )  # fmt: skip
        self.plots = w.Output()
        self.plots.add_class("wb-train-plots")
        self.contract_view = w.HTML("")
        self.contract_view.add_class("wb-contract-view")
        self.train_button = w.Button(description="Train & log", button_style="primary", icon="play")
        self.train_button.add_class("wb-train-button")
        self.train_button.on_click(lambda _: self.train())
        self.result.add_class("wb-result")
        for control in (self.source, self.family, self.task):
            control.observe(lambda _: self._sync(), names="value")
        self._sync()
        self.root.children = [
            self.title,
            w.HTML(
                "Pick data and a model family, then <b>Train &amp; log</b>. The model, its metrics, "
                "its input signature and the data it saw go to MLflow; the registry gets a new "
                "version with the alias <code>@challenger</code>."
            ),
            w.HBox([self.source, self.path]),
            w.HBox([self.target, self.task]),
            w.HBox([self.family, self.name]),
            w.HBox([self.n_estimators, self.max_depth, self.C]),
            w.HTML("<b>Model contract</b>: the positive class, and columns that are not features"),
            w.HBox([self.positive_label, self.protected]),
            w.HBox([self.id_columns, self.ignore]),
            self.categorical,
            self.train_button,
            w.HBox([self.progress, self.progress_label]),
            self.status,
            self.result,
            self.plots,
            self.contract_view,
        ]

    def _sync(self) -> None:
        is_file = self.source.value == "CSV / Parquet file"
        self.path.layout.display = None if is_file else "none"
        if not is_file:
            self.target.value = {"credit_risk": "default"}.get(self.source.value, "target")
            if self.source.value == "diabetes" and self.family.value == "logistic_regression":
                self.family.value = "linear_regression"
        # only the controls that apply to the chosen family and task are shown
        trees = self.family.value in ("random_forest", "gradient_boosting")
        for control in (self.n_estimators, self.max_depth):
            control.layout.display = None if trees else "none"
        self.C.layout.display = "none" if trees else None
        regression = self.task.value == "regression" or (
            self.task.value == "auto" and not is_file and self.source.value == "diabetes"
        )
        self.positive_label.layout.display = "none" if regression else None

    def settings(self) -> dict[str, Any]:
        """The current choices as keyword arguments of :func:`workbench.training.train_and_log`."""
        from workbench.training import hyperparameters

        family = self.family.value
        params = hyperparameters(
            family,
            n_estimators=self.n_estimators.value,
            max_depth=self.max_depth.value,
            C=self.C.value,
        )
        return {
            "target": self.target.value.strip(),
            "name": self.name.value.strip(),
            "family": family,
            "task": None if self.task.value == "auto" else self.task.value,
            "params": params,
            "positive_label": self.positive_label.value.strip() or None,
            "id_columns": _names(self.id_columns.value),
            "ignore": _names(self.ignore.value),
            "protected": _names(self.protected.value),
            "categorical": _names(self.categorical.value),
        }

    def load_data(self):
        """The chosen table: a demo data set or the file, with its target."""
        from workbench.training import load_training_data

        is_file = self.source.value == "CSV / Parquet file"
        dataset = self.path.value.strip() if is_file else self.source.value
        return load_training_data(
            dataset,
            target=self.target.value.strip() or None,
            categorical=_names(self.categorical.value),
        )

    def train(self):
        """What the button does: load, train and log; show the version or the error."""
        from workbench.registry import model_contract
        from workbench.training import train_and_log

        self.train_button.disabled = True
        self.result.value = self.contract_view.value = ""
        self.plots.outputs = ()
        self.set_status("training...", "info")
        try:
            table = self.load_data()
            settings = {**self.settings(), "target": table.target}
            mv = train_and_log(
                table.frame, dataset_name=table.name, progress=self.report_progress, **settings
            )
        except Exception as err:  # shown in the panel; the registry is left as it was
            self.show_error(err)
            self.progress.value = 0.0
            return None
        finally:
            self.train_button.disabled = False
        self.last_version = mv
        self.set_status(
            f"logged {mv.name} version {mv.version} as @challenger",
            "ok",
            version_link(mv.name, mv.version),
            f"version {mv.version} in MLflow",
        )
        self.result.value = mv._repr_html_()
        self.contract_view.value = model_contract(mv.model_uri)._repr_html_()
        self.show_plots(mv)
        return mv

    def show_plots(self, mv) -> None:
        """The evaluation plots kept with ``mv``'s run, in the result card."""
        from workbench.training import training_plots

        figures = training_plots(mv)
        shown = [figures[n] for n in _PLOT_ORDER if n in figures]
        shown += [f for n, f in figures.items() if n not in _PLOT_ORDER]
        show_figures(self.plots, shown)


def _names(text: str) -> list[str]:
    """Column names typed as ``a, b`` (empty: none)."""
    return [name.strip() for name in text.split(",") if name.strip()]

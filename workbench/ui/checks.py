"""Stage-2 panel: pick a version, Run checks, read the results, then Promote or Rollback.

Every button calls a plain function: :func:`workbench.run_checks`, :func:`workbench.promote`,
:func:`workbench.rollback` and :func:`workbench.history`.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from workbench.ui._common import PanelBase, fit_labels, run_link, show_figures, version_link
from workbench.ui._tables import audit_table_html, comparison_html

__all__ = ["ChecksPanel"]


class ChecksPanel(PanelBase):
    """Run the pre-deployment checks on a version and promote it when they pass.

    Args:
        model_name: Registered model to start with.
        version: Version number or alias to start with (``challenger``).
        data: Eval data: a DataFrame, a CSV / Parquet path, or ``None`` for demo credit-risk rows.
        target: The label column.
        protected: Attributes for the fairness check (a column or a list); ``None``: the
            version's contract's (the field fills in with them), ``[]``: no fairness check.
        thresholds: Absolute metric bars (``{"roc_auc": 0.7}``).
        report: A :class:`~workbench.CheckReport` to show right away (from a notebook cell).

    Example:
        >>> from workbench.ui import ChecksPanel
        >>> panel = ChecksPanel("credit-risk", "challenger")  # doctest: +SKIP
        >>> panel.run_button.click()                          # doctest: +SKIP
    """

    css_class = "wb-checks-panel"

    def __init__(
        self,
        model_name: str = "credit-risk",
        version: int | str = "challenger",
        data: Any = None,
        target: str = "default",
        protected: str | list[str] | None = None,
        thresholds: dict[str, float] | None = None,
        report: Any = None,
    ):
        from workbench._core.text import tracking_login, user_name
        from workbench.registry import model_names

        super().__init__("Stage 2 - pre-deployment checks, promotion and rollback")
        self.data = data
        self.target = target
        self._protected_given = protected is not None
        self.thresholds = thresholds
        self.report = None
        self._eval = None
        names = model_names()
        self.model = w.Dropdown(
            options=names or [model_name],
            value=model_name if model_name in names or not names else names[0],
            description="Model",
        )
        self.version = w.Dropdown(
            options=[], description="Version", layout=w.Layout(width="420px")
        )  # wide enough for "v12 @challenger @champion (passed)"
        given = [protected] if isinstance(protected, str) else list(protected or [])
        self.protected = w.Text(
            value=", ".join(given),
            placeholder="none: no fairness check",
            description="Protected",
        )
        self.protected.add_class("wb-protected")
        self.run_button = w.Button(description="Run checks", button_style="primary", icon="play")
        self.run_button.add_class("wb-run-checks")
        self.table = w.HTML("")
        self.table.add_class("wb-check-results")
        self.detail_choice = w.Dropdown(options=[], description="Details of")
        self.detail_choice.add_class("wb-check-detail-choice")
        self.detail = w.HTML("")
        self.detail.add_class("wb-check-detail")
        self.compare = w.HTML("")
        self.compare.add_class("wb-compare")
        self.by = w.Text(value=user_name(), description="By")
        if tracking_login():
            self.by.disabled = True  # on a tracking server the audit records the login
            self.by.tooltip = "the user logged in to the tracking server"
        self.reason = w.Text(
            value="", placeholder="why (required: the audit log keeps it)", description="Reason"
        )
        self.reason.add_class("wb-reason")
        self.force = w.Checkbox(
            value=False, description="Force despite failed checks", indent=False
        )
        self.promote_button = w.Button(
            description="Promote to @champion",
            button_style="success",
            icon="arrow-up",
            layout=w.Layout(width="auto"),
        )
        self.promote_button.add_class("wb-promote")
        self.rollback_button = w.Button(
            description="Roll back @champion",
            button_style="warning",
            icon="undo",
            layout=w.Layout(width="auto"),
        )
        self.rollback_button.add_class("wb-rollback")
        self.history = w.HTML("")
        self.history.add_class("wb-history")
        self.plots = w.Output()
        self.plots.add_class("wb-check-plots")
        fit_labels(
            self.model, self.version, self.protected, self.detail_choice, self.by, self.reason,
            self.force,
        )  # fmt: skip
        self.detail_choice.layout.display = "none"  # shown once there are results to detail

        self.model.observe(lambda _: self._load_versions(), names="value")
        self.version.observe(lambda _: self._on_version(), names="value")
        self.force.observe(lambda _: self._sync(), names="value")
        self.reason.observe(lambda _: self._sync(), names="value")
        self.detail_choice.observe(lambda _: self._show_detail(), names="value")
        self.run_button.on_click(lambda _: self.run_checks())
        self.promote_button.on_click(lambda _: self.promote())
        self.rollback_button.on_click(lambda _: self.rollback())

        self._load_versions(version)
        if report is not None:
            self._show_report(report)
        self.refresh_history()
        self.root.children = [
            self.title,
            w.HTML(
                "Choose a version and press <b>Run checks</b>. A version may become "
                "<code>@champion</code> (what serving uses) only when every check passes, and "
                "every promotion or rollback needs a reason, which the audit log keeps; forcing "
                "is recorded as forced. <b>Roll back</b> returns <code>@champion</code> to the "
                "version before."
            ),
            w.HBox([self.model, self.version, self.run_button]),
            w.HBox([self.protected]),
            w.HBox([self.progress, self.progress_label]),
            self.status,
            self.table,
            self.plots,
            w.HBox([self.detail_choice]),
            self.detail,
            self.compare,
            w.HBox([self.by, self.reason]),
            w.HBox([self.force, self.promote_button, self.rollback_button]),
            w.HTML("<h4 style='margin:4px 0'>Audit history</h4>"),
            self.history,
        ]

    # ----------------------------------------------------------------- actions (the buttons)

    def run_checks(self):
        """What **Run checks** does: run the suite on the chosen version and show the results."""
        from workbench.checks import load_eval_data, run_checks

        self.run_button.disabled = True
        self.set_status("running the checks...", "info")
        try:
            if self._eval is None:
                model = f"models:/{self.model.value}/{self.version.value}"
                self._eval = load_eval_data(self.data, model=model)
            report = run_checks(
                f"models:/{self.model.value}/{self.version.value}",
                data=self._eval,
                target=self.target,
                protected=[c.strip() for c in self.protected.value.split(",") if c.strip()],
                thresholds=self.thresholds,
                progress=self.report_progress,
            )
        except Exception as err:  # shown in the panel
            self.show_error(err)
            return None
        finally:
            self.run_button.disabled = False
        self._show_report(report)
        self._load_versions(report.version)
        return report

    def promote(self):
        """What **Promote** does: :func:`workbench.promote` with the panel's who, why and force.
        Refused, with nothing moved, while the reason is empty."""
        from workbench.registry import promote

        if not self._has_reason("promoting"):
            return None
        try:
            entry = promote(
                self.model.value,
                self.version.value,
                by=self.by.value.strip() or None,
                reason=self.reason.value.strip() or None,
                force=self.force.value,
            )
        except Exception as err:
            self.show_error(err)
            return None
        self._after_move()
        self.set_status(
            entry.summary(),
            "warn" if entry.forced else "ok",
            version_link(entry.model, entry.new_version),
            f"version {entry.new_version} in MLflow",
        )
        return entry

    def rollback(self):
        """What **Roll back** does: :func:`workbench.rollback` (a reason is required)."""
        from workbench.registry import rollback

        if not self._has_reason("rolling back"):
            return None
        try:
            entry = rollback(
                self.model.value,
                by=self.by.value.strip() or None,
                reason=self.reason.value.strip() or None,
            )
        except Exception as err:
            self.show_error(err)
            return None
        self._after_move()
        self.set_status(
            entry.summary(),
            "ok",
            version_link(entry.model, entry.new_version),
            f"version {entry.new_version} in MLflow",
        )
        return entry

    def refresh_history(self) -> None:
        """Show the model's audit log, newest first."""
        from workbench.registry import history

        try:
            log = history(self.model.value)
        except Exception as err:
            self.history.value = f"<i>{html.escape(str(err))}</i>"
            return
        if log.empty:
            self.history.value = "<i>no promotions or rollbacks yet</i>"
            return
        self.history.value = audit_table_html(log, link=lambda v: version_link(self.model.value, v))

    # ----------------------------------------------------------------- display

    def _has_reason(self, doing: str) -> bool:
        """Whether the reason field says something; if not, the panel says what to write."""
        if self.reason.value.strip():
            self.reason.remove_class("wb-missing")
            return True
        self.reason.add_class("wb-missing")
        self.set_status(
            f"write a reason before {doing} {self.model.value}: the audit log keeps who moved "
            "@champion and why (nothing was changed)",
            "error",
        )
        return False

    def _after_move(self) -> None:
        self._load_versions(self.version.value)
        self.refresh_history()

    def _load_versions(self, select: int | str | None = None) -> None:
        from workbench.registry import get_version, versions

        try:
            found = versions(self.model.value)
        except Exception as err:
            self.version.options = []
            self.show_error(err)
            self._sync()
            return
        options = []
        for mv in found:
            aliases = " ".join(f"@{a}" for a in mv.aliases)
            status = mv.tags.get("workbench.checks.status", "not checked")
            options.append((f"v{mv.version} {aliases} ({status})".replace("  ", " "), mv.version))
        wanted = self.version.value if select is None else select
        if wanted is not None and not str(wanted).isdigit():
            try:
                wanted = get_version(self.model.value, wanted).version
            except Exception:
                wanted = None
        self.version.options = options
        values = [v for _, v in options]
        if values:
            self.version.value = (
                int(wanted) if wanted is not None and int(wanted) in values else values[0]
            )
        self._on_version()

    def _on_version(self) -> None:
        self._contract_protected()
        self._sync()

    def _contract_protected(self) -> None:
        """Fill the protected field with the chosen version's contract, unless it was given."""
        from workbench.registry import model_contract

        if self._protected_given or self.version.value is None:
            return
        try:
            contract = model_contract(f"models:/{self.model.value}/{self.version.value}")
        except Exception:  # a version without a readable contract: leave the field as it is
            return
        self.protected.value = ", ".join(contract.protected)

    def _show_report(self, report) -> None:
        self.report = report
        self.table.value = report._repr_html_()
        from workbench.checks.builtin.fairness_plot import report_figures

        self.detail_choice.options = report.names()
        self.detail_choice.layout.display = None if report.names() else "none"
        show_figures(self.plots, list(report_figures(report).values()))
        bad = report.failed
        self.detail_choice.value = bad[0] if bad else report.names()[0] if report.names() else None
        self._show_detail()
        self.compare.value = comparison_html(report)
        where = run_link(report.run_id)
        if report.passed:
            self.set_status(
                f"all checks passed on version {report.version}: it may be promoted",
                "ok",
                where,
                "the check run in MLflow",
            )
        else:
            self.set_status(
                f"version {report.version} failed: {', '.join(report.failed)}. It may not be "
                "promoted unless forced with a reason.",
                "error",
                where,
                "the check run in MLflow",
            )
        self._sync()

    def _show_detail(self) -> None:
        if self.report is None or not self.detail_choice.value:
            self.detail.value = ""
            return
        self.detail.value = self.report[self.detail_choice.value]._repr_html_()

    def _sync(self) -> None:
        """Promote is enabled only for a version whose checks passed, or when forcing with a reason."""
        checked = (
            self.report is not None
            and self.report.name == self.model.value
            and self.report.version == self.version.value
        )
        passed = checked and self.report.passed
        if not checked and self.version.value is not None:
            label = dict((v, k) for k, v in self.version.options).get(self.version.value, "")
            passed = "(passed)" in label
        forcing = self.force.value and bool(self.reason.value.strip())
        self.promote_button.disabled = not (passed or forcing)
        self.rollback_button.disabled = self.version.value is None

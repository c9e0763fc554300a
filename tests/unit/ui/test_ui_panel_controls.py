"""The stage panels, built for real (ipywidgets, a real empty workspace): controls shown only
where they apply, and no label cut short at the default width."""

from __future__ import annotations

import ipywidgets as w
import pytest

from workbench.ui import ABTestPanel, ChecksPanel, MonitorPanel, ServePanel, TrainPanel


def _widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from _widgets(child)


def _shown(widget) -> bool:
    return widget.layout.display != "none"


def test_train_panel_shows_the_controls_of_the_chosen_family_only():
    panel = TrainPanel(dataset="credit_risk", family="random_forest")
    assert _shown(panel.n_estimators) and _shown(panel.max_depth)
    assert not _shown(panel.C)  # no regularisation slider beside a forest
    panel.family.value = "logistic_regression"
    assert _shown(panel.C) and not _shown(panel.n_estimators) and not _shown(panel.max_depth)
    panel.family.value = "gradient_boosting"
    assert not _shown(panel.C) and _shown(panel.n_estimators)
    assert panel.settings()["params"] == {"n_estimators": 100}


def test_train_panel_hides_the_positive_label_for_regression_and_the_file_for_demo_data():
    panel = TrainPanel(dataset="credit_risk")
    assert _shown(panel.positive_label) and not _shown(panel.path)
    panel.source.value = "diabetes"
    assert not _shown(panel.positive_label)
    panel.task.value = "classification"
    assert _shown(panel.positive_label)
    panel.source.value = "CSV / Parquet file"
    assert _shown(panel.path)


@pytest.mark.parametrize("make", [TrainPanel, ChecksPanel, ServePanel, MonitorPanel, ABTestPanel])
def test_no_label_is_cut_short(workspace, make):
    panel = make()
    labelled = [
        widget
        for widget in _widgets(panel.root)
        if getattr(widget, "description", "")
        and not isinstance(widget, w.Button | w.Checkbox)
        and hasattr(widget.style, "description_width")
    ]
    assert labelled, "the panel has labelled controls"
    cut = [wd.description for wd in labelled if wd.style.description_width != "initial"]
    assert not cut, f"{make.__name__}: labels that may be cut: {cut}"


def test_checks_panel_details_appear_only_with_results(workspace):
    panel = ChecksPanel()
    assert not _shown(panel.detail_choice) and panel.plots.outputs == ()

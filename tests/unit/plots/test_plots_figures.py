"""The panel plots from known inputs: the traces and points expected, and clear errors on
hostile inputs (one class, NaN, empty, lengths that differ)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from workbench.errors import DataError, UsageError
from workbench.plots import classification, fairness, files, importance, regression
from workbench.plots.evaluation import evaluation_figures


def test_roc_of_a_perfect_classifier_passes_through_the_top_left_corner():
    fig = classification.roc_curve(["no", "no", "yes", "yes"], [0.1, 0.3, 0.7, 0.9], "yes")
    points = set(zip(fig.data[0].x.tolist(), fig.data[0].y.tolist(), strict=True))
    assert (0.0, 1.0) in points and "AUC 1.000" in fig.data[0].name
    assert fig.data[1].name == "chance" and list(fig.data[1].x) == [0, 1]


def test_roc_of_a_reversed_classifier_has_auc_zero_and_the_positive_label_matters():
    y, scores = [0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]
    assert "AUC 0.000" in classification.roc_curve(y, scores, 1).data[0].name
    assert "AUC 1.000" in classification.roc_curve(y, scores, 0).data[0].name


def test_precision_recall_draws_the_base_rate_of_the_positive_class():
    fig = classification.precision_recall_curve([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9], 1)
    assert fig.data[1].y[0] == pytest.approx(0.25) and "AP 1.000" in fig.data[0].name
    assert max(fig.data[0].y) == 1.0


def test_confusion_matrix_counts_match_with_the_positive_label_first():
    y_true = [0, 0, 0, 1, 1, 1, 1]
    y_pred = [0, 1, 0, 1, 1, 0, 1]
    fig = classification.confusion_matrix(y_true, y_pred, positive_label=1)
    heat = fig.data[0]
    assert list(heat.x) == ["1", "0"] and list(heat.y) == ["1", "0"]
    assert np.asarray(heat.z).tolist() == [[3, 1], [1, 2]]  # TP FN / FP TN
    assert "positive class 1" in fig.layout.title.text


@pytest.mark.parametrize(
    ("y", "scores", "words"),
    [
        ([1, 1, 1], [0.2, 0.5, 0.9], "only one class"),
        ([0, 1, np.nan], [0.2, 0.5, 0.9], "missing values"),
        ([0, 1, 1], [0.2, np.nan, 0.9], "missing or infinite"),
        ([], [], "empty"),
        ([0, 1], [0.2, 0.5, 0.9], "different lengths"),
        ([0, 1], ["a", "b"], "must be numbers"),
    ],
)
def test_curves_refuse_hostile_inputs_naming_what_is_wrong(y, scores, words):
    for draw in (classification.roc_curve, classification.precision_recall_curve):
        with pytest.raises(DataError, match=words):
            draw(y, scores, 1)


def test_confusion_matrix_refuses_a_positive_label_that_is_not_a_label():
    with pytest.raises(DataError, match="positive label 'yes' is not among"):
        classification.confusion_matrix([0, 1], [0, 1], positive_label="yes")


def test_regression_plots_put_each_row_where_it_belongs():
    y, pred = [1.0, 2.0, 4.0], [1.5, 2.0, 3.0]
    fig = regression.predicted_vs_actual(y, pred)
    assert fig.data[0].x.tolist() == y and fig.data[0].y.tolist() == pred
    assert list(fig.data[1].x) == [1.0, 4.0]  # the diagonal spans both axes
    res = regression.residuals(y, pred)
    assert res.data[0].y.tolist() == [-0.5, 0.0, 1.0] and res.data[0].x.tolist() == pred
    with pytest.raises(DataError, match="y_pred has 1 missing"):
        regression.residuals(y, [1.0, np.nan, 2.0])


def test_permutation_importance_finds_the_column_the_model_uses():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    y = (x["signal"] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    table = importance.permutation_importance(model, x, y, max_rows=200, seed=1)
    assert table["column"].tolist() == ["signal", "noise"]
    assert table.loc[0, "importance"] > 0.3 > abs(table.loc[1, "importance"])
    again = importance.permutation_importance(model, x, y, max_rows=200, seed=1)
    pd.testing.assert_frame_equal(table, again)  # seeded
    sklearns = importance.permutation_importance(  # scikit-learn's own, one call per shuffle
        model, x, y, max_rows=400, n_repeats=10, seed=2, scoring="accuracy"
    )
    batched = importance.permutation_importance(model, x, y, max_rows=400, n_repeats=10, seed=2)
    assert batched["column"].tolist() == sklearns["column"].tolist()
    assert batched["importance"].to_numpy() == pytest.approx(
        sklearns["importance"].to_numpy(), abs=0.03
    )
    fig = importance.importance_bars(table, "accuracy")
    assert list(fig.data[0].y) == ["noise", "signal"]  # most important on top
    with pytest.raises(DataError, match="at least one column"):
        importance.permutation_importance(model, x.iloc[:, :0], y)
    with pytest.raises(DataError, match="empty"):
        importance.importance_bars(table.iloc[:0])


def test_fairness_limit_line_is_the_best_slice_minus_the_policy_gap():
    table = pd.DataFrame(
        {
            "attribute": ["age"] * 3 + ["region"] * 2,
            "slice": ["young", "mid", "old", "north", "south"],
            "rows": [100, 100, 5, 60, 60],
            "recall": [0.8, 0.6, 0.99, 0.7, 0.65],  # "old" is too small to judge
            "champion": [0.7, 0.7, 0.7, 0.6, 0.6],
            "judged": [True, True, False, True, True],
        }
    )
    fig = fairness.fairness_bars(table, "recall", 0.15, champion="champion")
    assert [s.y0 for s in fig.layout.shapes] == pytest.approx([0.65, 0.55])
    assert [t.name for t in fig.data] == ["candidate", "champion"] * 2
    assert fig.data[0].y.tolist() == [0.8, 0.6, 0.99] and fig.data[1].y.tolist() == [0.7] * 3
    assert list(fig.data[0].marker.opacity) == [1.0, 1.0, 0.35]


def test_fairness_limit_for_an_error_metric_is_a_ceiling_relative_to_the_overall_error():
    table = pd.DataFrame({"attribute": "sex", "slice": ["a", "b"], "mae": [2.0, 3.0]})
    fig = fairness.fairness_bars(table, "mae", 0.5, overall=2.5)
    assert fig.layout.shapes[0].y0 == pytest.approx(2.0 + 0.5 * 2.5)


def test_fairness_bars_refuse_a_table_they_cannot_draw():
    with pytest.raises(DataError, match="lacks column"):
        fairness.fairness_bars(pd.DataFrame({"slice": ["a"]}), "recall", 0.2)
    empty = pd.DataFrame(columns=["attribute", "slice", "recall"])
    with pytest.raises(DataError, match="empty"):
        fairness.fairness_bars(empty, "recall", 0.2)
    nan = pd.DataFrame({"attribute": "a", "slice": ["x"], "recall": [np.nan]})
    with pytest.raises(DataError, match="no slice has a recall value"):
        fairness.fairness_bars(nan, "recall", 0.2)


def test_evaluation_figures_of_a_classifier_and_a_regressor(tmp_path):
    from sklearn.linear_model import LinearRegression, LogisticRegression

    x = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 7})
    labels = np.where(x["a"] > 29, "bad", "good")
    clf = evaluation_figures(
        LogisticRegression().fit(x, labels), x, labels, "classification", "bad"
    )
    assert set(clf.figures) == {"roc", "precision_recall", "confusion_matrix", "importance"}
    assert list(clf.figures["confusion_matrix"].data[0].x) == ["bad", "good"]
    one_class = evaluation_figures(
        LogisticRegression().fit(x, labels), x[:20], labels[:20], "classification", "bad"
    )
    assert "roc" not in one_class.figures and "only one class" in one_class.notes[0]
    reg = evaluation_figures(LinearRegression().fit(x, x["a"] * 2), x, x["a"] * 2, "regression")
    assert set(reg.figures) == {"predicted_vs_actual", "residuals", "importance"}

    folder = files.save_figures(reg.figures, tmp_path / "plots", title="v1")
    page = (folder / files.PAGE_NAME).read_text()
    assert page.count('id="wb-plot-') == 3 and page.count("plotly.js v") == 1  # plotly.js once
    back = files.load_figures(folder)
    assert set(back) == set(reg.figures)
    assert list(back["residuals"].data[0].y) == pytest.approx(
        list(pio.from_json(reg.figures["residuals"].to_json()).data[0].y)
    )
    with pytest.raises(UsageError, match="plain file name"):
        files.save_figures({"../x": reg.figures["residuals"]}, tmp_path)

"""Probabilities of a classifier: which labels, which positive class, one pass, the answer's table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import workbench as wb
from workbench.contract import ModelContract
from workbench.serving import (
    ProbabilitySpec,
    decode_probabilities,
    labels_and_probabilities,
    probability_frame,
    spec_for,
)


def _data(classes=2, labels=None, n=300):
    x, y = make_classification(
        n_samples=n, n_features=6, n_informative=4, n_classes=classes, random_state=0
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    if labels is not None:
        y = np.asarray(labels, dtype=object)[y]
    return frame, y


def _contract(labels, positive):
    return ModelContract("y", "classification", ["f0"], labels=labels, positive_label=positive)


def test_binary_zero_one_takes_one_as_positive_with_one_column():
    x, y = _data()
    spec = spec_for(LogisticRegression().fit(x, y))
    assert spec.labels == [0, 1] and spec.positive_label == 1 and spec.positive_index == 1
    assert spec.columns == ["proba_1"] and spec.argmax


def test_the_contracts_positive_label_wins_even_when_it_sorts_first():
    x, y = _data(labels=["defaulted", "repaid"])
    model = LogisticRegression().fit(x, y)
    spec = spec_for(model, _contract(["defaulted", "repaid"], "defaulted"))
    assert spec.positive_label == "defaulted" and spec.positive_index == 0
    assert spec.columns == ["proba_defaulted"]
    proba = model.predict_proba(x.head(4))
    fields = spec.response_fields(proba)
    np.testing.assert_array_equal(fields["probabilities"], proba[:, 0])
    assert fields["labels"] == ["defaulted", "repaid"]
    assert fields["probability_of"] == "defaulted"  # a binary answer names its class
    # the launcher's dict form and an unknown pair without one
    assert spec_for(model, {"positive_label": "defaulted"}).positive_label == "defaulted"
    both = spec_for(model)
    assert both.positive_label is None and both.columns == ["proba_defaulted", "proba_repaid"]
    assert spec_for(model, {"positive_label": "nope"}).positive_label is None


def test_multiclass_string_labels_give_every_class_in_the_models_order():
    x, y = _data(classes=3, labels=["virginica", "setosa", "versicolor"])
    model = LogisticRegression(max_iter=500).fit(x, y)
    spec = spec_for(model, _contract(["setosa", "versicolor", "virginica"], None))
    assert spec.labels == ["setosa", "versicolor", "virginica"] == list(model.classes_)
    assert spec.positive_label is None
    assert spec.columns == ["proba_setosa", "proba_versicolor", "proba_virginica"]
    proba = model.predict_proba(x.head(3))
    assert spec.response_fields(proba)["probabilities"] == proba.tolist()
    assert spec.response_fields(proba)["probability_of"] == spec.labels  # one per column
    assert spec.table(proba).shape == (3, 3)


def test_models_without_probabilities_have_no_spec():
    x, y = _data()
    assert spec_for(LinearRegression().fit(x, y.astype(float))) is None
    assert spec_for(SVC().fit(x, y)) is None  # probability=False: no predict_proba
    assert spec_for(None) is None


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        make_pipeline(StandardScaler(), LogisticRegression()),
        RandomForestClassifier(n_estimators=10, random_state=0),
        DecisionTreeClassifier(random_state=0),
        GradientBoostingClassifier(n_estimators=10, random_state=0),
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
        KNeighborsClassifier(),
        GaussianNB(),
        CalibratedClassifierCV(LogisticRegression(), cv=3),
        VotingClassifier([("a", LogisticRegression()), ("b", GaussianNB())], voting="soft"),
    ],
    ids=lambda m: type(m).__name__,
)
@pytest.mark.parametrize("classes", [2, 3])
def test_labels_from_one_pass_equal_predict(model, classes):
    x, y = _data(classes=classes)
    model.fit(x, y)
    spec = spec_for(model)
    assert spec.argmax
    labels, proba = labels_and_probabilities(model, x, spec)
    np.testing.assert_array_equal(labels, model.predict(x))
    np.testing.assert_array_equal(proba, model.predict_proba(x))


def test_a_tuned_threshold_or_platt_scaling_still_gets_predicts_labels():
    x, y = _data()
    low = FixedThresholdClassifier(LogisticRegression(), threshold=0.2).fit(x, y)
    svc = SVC(probability=True, random_state=0).fit(x, y)
    for model in (low, svc):
        spec = spec_for(model)
        assert not spec.argmax
        labels, proba = labels_and_probabilities(model, x, spec)
        np.testing.assert_array_equal(labels, model.predict(x))
    labels, proba = labels_and_probabilities(low, x, spec_for(low))
    assert (labels != low.classes_[np.argmax(proba, axis=1)]).any()  # argmax would be wrong here


def test_probability_frame_names_columns_as_the_contract_does():
    contract = _contract(["no", "yes"], "yes")
    frame = probability_frame(
        ["yes", "no"],
        {"probabilities": [0.9, 0.2], "labels": ["no", "yes"], "positive_label": "yes"},
        index=pd.Index([10, 11]),
    )
    assert frame.columns.tolist() == ["prediction", *contract.probability_columns()]
    assert frame.index.tolist() == [10, 11] and frame["proba_yes"].tolist() == [0.9, 0.2]
    multi = decode_probabilities(
        200, b'{"predictions": [2], "probabilities": [[0.1, 0.2, 0.7]], "labels": [0, 1, 2]}'
    )
    assert multi.columns.tolist() == ["prediction", "proba_0", "proba_1", "proba_2"]


def test_answers_without_probabilities_or_with_the_wrong_shape_are_refused():
    with pytest.raises(wb.ServingError, match="without probabilities"):
        decode_probabilities(200, b'{"predictions": [1.5]}')
    with pytest.raises(wb.ServingError, match="2 probabilities per row"):
        probability_frame(
            [1], {"probabilities": [[0.4, 0.6]], "labels": [0, 1], "positive_label": 1}
        )
    with pytest.raises(wb.ServerRequestError, match="400"):
        decode_probabilities(400, b'{"error_code": "BAD_REQUEST", "message": "no"}')


def test_spec_to_json_is_what_the_server_reads():
    import json

    spec = ProbabilitySpec(labels=["a", "b"], positive_label="b")
    assert json.loads(spec.to_json()) == {"labels": ["a", "b"], "positive_label": "b"}

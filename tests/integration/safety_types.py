"""A transformer from outside scikit-learn, for the skops trust tests (importable by the loader)."""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin


class Doubler(TransformerMixin, BaseEstimator):
    """Multiplies every value by two."""

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return x * 2

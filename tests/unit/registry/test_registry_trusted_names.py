"""Trusted skops types are exact names: never a module, never what runs code or touches files."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from workbench.errors import UntrustedTypeError
from workbench.registry import trust


@pytest.mark.parametrize(
    "name",
    [
        "builtins.exec",
        "builtins.max",
        "builtins.getattr",
        "operator.attrgetter",
        "functools.partial",
        "importlib.import_module",
        "os.system",
        "subprocess.Popen",
        "pickle.loads",
        "numpy.load",
        "numpy.lib.npyio.load",
        "numpy.fromfile",
        "numpy.ctypeslib.load_library",
        "numpy",
        "sklearn",
        "not a name",
        "mylib..Scaler",
    ],
)
def test_names_that_run_code_or_are_whole_modules_are_never_trusted(name):
    assert trust.never_trusted(name)
    model = LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(UntrustedTypeError):
        trust.trusted_types(model, [name])


@pytest.mark.parametrize("name", ["numpy.full_like", "mylib.scalers.RobustScaler", "numpy.ravel"])
def test_an_exact_name_may_be_declared(name):
    assert trust.never_trusted(name) is None


def test_a_function_inside_a_pipeline_must_be_named_exactly():
    x = np.arange(12.0).reshape(6, 2)
    pipe = make_pipeline(FunctionTransformer(np.full_like, kw_args={"fill_value": 1.0}),
                         LogisticRegression())  # fmt: skip
    pipe.fit(x, [0, 1, 0, 1, 0, 1])
    with pytest.raises(UntrustedTypeError, match="numpy.full_like"):
        trust.trusted_skops_bytes(pipe, trust.trusted_types(pipe, []))
    data, needed = trust.trusted_skops_bytes(pipe, trust.trusted_types(pipe, ["numpy.full_like"]))
    assert needed == ["numpy.full_like"] and data[:2] == b"PK"

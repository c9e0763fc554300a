"""A tracking server's 401/403, read from MLflow's own exceptions, in whatever they were raised from."""

from __future__ import annotations

import pytest
import requests
from mlflow.exceptions import MlflowException

from workbench._core.remote import server_refusal, speaks_for_server
from workbench.errors import ModelNotFoundError, PermissionDeniedError, RegistryError

SERVER = "http://127.0.0.1:5999"


def _refused(endpoint: str, status: int = 403) -> MlflowException:
    code = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}.get(status, "INTERNAL_ERROR")
    return MlflowException(
        f"API request to endpoint {endpoint} failed with error code {status} != 200. "
        "Response body: 'Permission denied'",
        error_code=code,
    )


@pytest.mark.parametrize(
    ("endpoint", "needs"),
    [
        ("/api/2.0/mlflow/runs/create", "EDIT on the experiment"),
        ("/api/2.0/mlflow/experiments/create", "USE on the workspace (creating an experiment)"),
        ("/api/2.0/mlflow/registered-models/create", "USE on the workspace (creating a registered"),
        ("/api/2.0/mlflow/model-versions/create", "EDIT on the registered model"),
        ("/api/2.0/mlflow/registered-models/alias", "EDIT on the registered model"),
        ("/api/2.0/mlflow/registered-models/delete", "MANAGE"),
        ("/api/2.0/mlflow-artifacts/artifacts/1/abc/model.skops", "EDIT on the experiment"),
        ("/api/2.0/mlflow/registered-models/get", "READ on the experiment or registered model"),
    ],
)
def test_each_refused_request_names_the_permission_it_needs(endpoint, needs):
    err = server_refusal(_refused(endpoint), "doing it", user="viewer", server=SERVER)
    assert isinstance(err, PermissionDeniedError) and err.exit_code == 3
    text = str(err)
    assert needs in text and "'viewer'" in text and SERVER in text
    assert endpoint.rsplit("/", 2)[-1] in text and "doing it needs" in text
    assert "Traceback" not in text and "Response body" not in text


def test_a_401_asks_for_a_login_and_names_where_passwords_are():
    err = server_refusal(_refused("/api/2.0/mlflow/runs/create", 401), "logging", "ds9", SERVER)
    assert "did not accept the login of 'ds9'" in str(err)
    assert "MLFLOW_TRACKING_PASSWORD" in str(err) and "credentials.json" in str(err)


def test_an_anonymous_403_is_a_missing_login(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    err = server_refusal(_refused("/api/2.0/mlflow/runs/create"), "logging", server=SERVER)
    assert "an anonymous user" in str(err)


def test_the_refusal_is_found_in_what_an_error_was_raised_from():
    try:
        try:
            raise _refused("/api/2.0/mlflow/registered-models/alias")
        except MlflowException as inner:
            raise RegistryError("pointing m@champion at version 2 failed") from inner
    except RegistryError as outer:
        err = server_refusal(outer, "promoting", user="ds1", server=SERVER)
    assert err is not None and "EDIT on the registered model" in str(err)


def test_an_artifact_upload_refused_by_the_proxy_is_read_from_the_http_error():
    response = requests.Response()
    response.status_code = 403
    response.url = f"{SERVER}/api/2.0/mlflow-artifacts/artifacts/3/r/artifacts/m.skops"
    err = server_refusal(requests.HTTPError("403", response=response), "logging", "v", SERVER)
    assert err is not None and "EDIT on the experiment" in str(err) and "m.skops" in str(err)


@pytest.mark.parametrize(
    "error",
    [
        _refused("/api/2.0/mlflow/runs/create", 500),
        MlflowException("RESOURCE_DOES_NOT_EXIST: no model", error_code="RESOURCE_DOES_NOT_EXIST"),
        ValueError("error code 403 in a user's column name"),
    ],
)
def test_other_errors_are_not_mistaken_for_refusals(error):
    assert server_refusal(error, "doing it", user="ds1", server=SERVER) is None


def test_the_decorator_turns_a_refusal_into_one_error_and_passes_the_rest(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "viewer")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    @speaks_for_server("promoting")
    def refused():
        raise _refused("/api/2.0/mlflow/registered-models/alias")

    @speaks_for_server("promoting")
    def broken():
        raise KeyError("x")

    with pytest.raises(
        PermissionDeniedError,
        match="^the tracking server refused user 'viewer'.*promoting needs EDIT",
    ) as caught:
        refused()
    assert isinstance(caught.value.__cause__, MlflowException)

    @speaks_for_server("reading")
    def missing():
        try:
            raise _refused("/api/2.0/mlflow/registered-models/get")
        except MlflowException as err:
            raise ModelNotFoundError("no registered model 'x'") from err

    with pytest.raises(KeyError):
        broken()
    with pytest.raises(ModelNotFoundError):  # MLflow answers 403 for a model that does not exist
        missing()
    assert refused.__name__ == "refused"

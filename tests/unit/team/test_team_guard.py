"""The team server's guard decides from the request alone (and what the store holds): each way an
attacker could phrase a forbidden write is refused, and ordinary work passes."""

from __future__ import annotations

import pytest

from workbench.team import app_guard, guard

AUDIT_ID, CHECKS_ID = "7", "9"


class Store(guard.Lookups):
    def protected_experiment_ids(self):
        return {AUDIT_ID: "workbench-audit", CHECKS_ID: "workbench-server-checks"}

    def experiment_of_resource(self, kind, resource_id):
        return {("logged-models", "m-audit"): AUDIT_ID, ("traces", "tr-check"): CHECKS_ID}.get(
            (kind, resource_id)
        )

    def experiment_of_run(self, run_id):
        return {"audit-run": AUDIT_ID, "server-check": CHECKS_ID, "mine": "3"}.get(run_id)

    def aliases(self, model):
        return {"credit": {"champion": "2", "challenger": "3"}}.get(model, {})

    def has_chain(self, model):
        return model in ("credit", "chained")


def said(method, path, params=None, protected=("champion",)):
    return guard.refusal(method, path, params or {}, Store(), protected)


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("POST", "/api/2.0/mlflow/registered-models/alias", {"name": "m", "alias": "champion"}),
        (
            "POST",
            "/ajax-api/2.0/mlflow/registered-models/alias",
            {"name": "m", "alias": "champion"},
        ),
        ("POST", "/api/3.0/mlflow/registered-models/alias/", {"name": "m", "alias": "CHAMPION"}),
        ("DELETE", "/api/2.0/mlflow/registered-models/alias", {"name": "m", "alias": "champion"}),
        (
            "POST",
            "/api/2.0/mlflow/registered-models/set-tag",
            {"name": "m", "key": "workbench.audit.head"},
        ),
        (
            "DELETE",
            "/api/2.0/mlflow/registered-models/delete-tag",
            {"name": "m", "key": "workbench.audit.head"},
        ),
        (
            "POST",
            "/api/2.0/mlflow/model-versions/set-tag",
            {"name": "m", "version": "1", "key": "workbench.checks.status"},
        ),
        (
            "DELETE",
            "/api/2.0/mlflow/model-versions/delete-tag",
            {"name": "m", "version": "1", "key": "workbench.checks.run_id"},
        ),
        (
            "POST",
            "/api/2.0/mlflow/model-versions/create",
            {"name": "m", "tags": [{"key": "workbench.checks.sha256", "value": "x"}]},
        ),
        ("DELETE", "/api/2.0/mlflow/model-versions/delete", {"name": "credit", "version": "2"}),
        ("DELETE", "/api/2.0/mlflow/registered-models/delete", {"name": "credit"}),
        ("DELETE", "/api/2.0/mlflow/registered-models/delete", {"name": "chained"}),
        ("POST", "/api/2.0/mlflow/registered-models/rename", {"name": "credit", "new_name": "x"}),
        (
            "POST",
            "/api/2.0/mlflow/registered-models/rename",
            {"name": "free", "new_name": "_workbench-audit-lock.credit"},
        ),
        (
            "POST",
            "/api/2.0/mlflow/registered-models/create",
            {"name": "_workbench-audit-lock.credit"},
        ),
        (
            "POST",
            "/api/2.0/mlflow/registered-models/create",
            {"name": "new", "tags": [{"key": "workbench.audit.head", "value": "1:x"}]},
        ),
        ("POST", "/api/2.0/mlflow/experiments/create", {"name": "workbench-audit"}),
        ("POST", "/api/2.0/mlflow/experiments/create", {"name": "workbench-server-checks"}),
        (
            "POST",
            "/api/2.0/mlflow/experiments/update",
            {"experiment_id": "3", "new_name": "workbench-audit"},
        ),
        (
            "POST",
            "/api/2.0/mlflow/experiments/update",
            {"experiment_id": AUDIT_ID, "new_name": "old"},
        ),
        ("POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": AUDIT_ID}),
        (
            "POST",
            "/api/2.0/mlflow/experiments/set-experiment-tag",
            {"experiment_id": AUDIT_ID, "key": "workbench.key.ab"},
        ),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": AUDIT_ID}),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": CHECKS_ID}),
        (
            "POST",
            "/api/2.0/mlflow/runs/set-tag",
            {"run_id": "audit-run", "key": "workbench.audit.by"},
        ),
        ("POST", "/api/2.0/mlflow/runs/set-tag", {"run_uuid": "server-check", "key": "x"}),
        ("POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": "audit-run", "tags": []}),
        ("POST", "/api/2.0/mlflow/runs/delete", {"run_id": "audit-run"}),
        ("POST", "/api/2.0/mlflow/runs/update", {"run_id": "server-check", "status": "FAILED"}),
        (
            "PUT",
            "/api/2.0/mlflow-artifacts/artifacts/workspaces/default/9/abc/artifacts/checks.json",
            {},
        ),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/9/abc/artifacts/checks.json", {}),
        ("DELETE", "/ajax-api/2.0/mlflow-artifacts/artifacts/workspaces/default/7/x", {}),
        ("POST", "/api/2.0/mlflow-artifacts/mpu/create/workspaces/default/9/abc/artifacts/big", {}),
        # ids written another way than the store's (found by a hostile trial)
        (
            "POST",
            "/api/2.0/mlflow/experiments/set-experiment-tag",
            {"experiment_id": "07", "key": "k"},
        ),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": " 7"}),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": "+7 "}),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": 7}),
        ("POST", "/api/2.0/mlflow/experiments/update", {"experiment_id": "007", "new_name": "x"}),
        ("DELETE", "/api/2.0/mlflow/model-versions/delete", {"name": "credit", "version": "02"}),
        ("POST", "/api/2.0/mlflow/experiments/create", {"name": " Workbench-Audit "}),
        # protobuf's JSON names, nested and listed ids, ids in the path
        ("POST", "/api/2.0/mlflow/runs/create", {"experimentId": "7"}),
        (
            "POST",
            "/api/2.0/mlflow/registered-models/rename",
            {"name": "free", "newName": "_workbench-audit-lock.x"},
        ),
        (
            "POST",
            "/api/3.0/mlflow/traces",
            {
                "trace": {
                    "trace_info": {"trace_location": {"mlflow_experiment": {"experiment_id": "7"}}}
                }
            },
        ),
        ("POST", "/api/3.0/mlflow/datasets/create", {"name": "d", "experiment_ids": ["3", "09"]}),
        (
            "PATCH",
            "/api/2.0/mlflow/logged-models/m-audit/tags",
            {"tags": [{"key": "a", "value": "b"}]},
        ),
        ("PATCH", "/api/3.0/mlflow/traces/tr-check/tags", {"key": "a", "value": "b"}),
        # an artifact path encoded twice
        (
            "PUT",
            "/api/2.0/mlflow-artifacts/artifacts/workspaces/default/%2539/abc/artifacts/checks.json",
            {},
        ),
        ("PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/workspaces/default/%25%33%37/x", {}),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/workspaces/default/3/../7/x", {}),
    ],
)
def test_forbidden_writes_are_refused_in_every_phrasing(method, path, params):
    why = said(method, path, params)
    assert why and why.startswith("the workbench team server refuses"), (method, path, why)


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/api/2.0/mlflow/registered-models/alias", {"name": "m", "alias": "champion"}),
        ("POST", "/api/2.0/mlflow/registered-models/alias", {"name": "m", "alias": "challenger"}),
        ("POST", "/api/2.0/mlflow/registered-models/set-tag", {"name": "m", "key": "team"}),
        (
            "POST",
            "/api/2.0/mlflow/model-versions/set-tag",
            {"name": "m", "version": "1", "key": "workbench.artifact.digest"},
        ),
        (
            "POST",
            "/api/2.0/mlflow/model-versions/create",
            {"name": "m", "tags": [{"key": "workbench.user", "value": "ds1"}]},
        ),
        ("DELETE", "/api/2.0/mlflow/model-versions/delete", {"name": "credit", "version": "3"}),
        ("DELETE", "/api/2.0/mlflow/registered-models/delete", {"name": "scratch"}),
        ("POST", "/api/2.0/mlflow/registered-models/create", {"name": "credit-2"}),
        ("POST", "/api/2.0/mlflow/experiments/create", {"name": "credit"}),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": "3"}),
        ("POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": "mine"}),
        ("POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": [AUDIT_ID]}),
        ("POST", "/api/2.0/mlflow/registered-models/get-latest-versions", {"name": "credit"}),
        (
            "PUT",
            "/api/2.0/mlflow-artifacts/artifacts/workspaces/default/3/abc/artifacts/model.skops",
            {},
        ),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/workspaces/default/97/x", {}),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts/workspaces/default/7/x", {}),
    ],
)
def test_ordinary_work_passes(method, path, params):
    assert said(method, path, params) is None


def test_the_protected_aliases_are_the_server_s_setting():
    params = {"name": "m", "alias": "production"}
    assert said("POST", "/api/2.0/mlflow/registered-models/alias", params) is None
    assert said(
        "POST", "/api/2.0/mlflow/registered-models/alias", params, ("champion", "production")
    )


def test_the_basic_auth_header_names_the_claimed_user():
    import base64

    header = "Basic " + base64.b64encode(b"workbench-service:whatever").decode()
    assert app_guard._basic_user(header) == "workbench-service"
    assert app_guard._basic_user("Bearer abc") is None
    assert app_guard._basic_user("Basic %%%") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", None),
        (b"  ", None),
        (b'{"name": "m"}', {"name": "m"}),
        (b'"{\\"name\\": \\"m\\"}"', {"name": "m"}),  # a JSON string holding the object
    ],
)
def test_a_body_reads_as_mlflow_s_handlers_read_it(raw, expected):
    assert app_guard.body_of(raw) == expected


@pytest.mark.parametrize("raw", [b"[1, 2]", b"not json", b'"just text"', b"42"])
def test_a_body_that_is_not_an_object_is_marked(raw):
    assert app_guard.body_of(raw) is app_guard._NOT_AN_OBJECT


def test_canonical_ids_are_the_store_s():
    assert [guard.canonical_id(v) for v in ("03", " 3", "+3", 3, "3 ", "abc")] == [
        "3", "3", "3", "3", "3", "abc",
    ]  # fmt: skip

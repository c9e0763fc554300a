"""The nightly fleet's plan file is a boundary: someone hands the scheduler a YAML file. Every
malformed or hostile plan is refused whole, before any job runs, with the file, the job and the key
named; a good one comes out as settings with absolute paths and unique names."""

from __future__ import annotations

import time

import pytest

from workbench.errors import UsageError
from workbench.monitoring.plan import MAX_JOBS, MonitorJob, load_plan


def _plan(tmp_path, text: str, name: str = "plan.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_plan_with_defaults_gives_absolute_paths_and_unique_names(tmp_path):
    (tmp_path / "data").mkdir()
    path = _plan(
        tmp_path,
        "defaults:\n  reference: data/ref.csv\n  notify: https://hooks.example.org/x\n"
        "jobs:\n"
        "  - model: models:/credit-risk@champion\n    traffic: true\n    since: 7d\n"
        "  - model: models:/credit-risk/3\n    current: data/today.csv\n    fail_on_drift: true\n"
        "  - current: ~/elsewhere/branch7.csv\n    report: notebook\n    reference: other.csv\n",
    )
    jobs = load_plan(path)
    assert [j.name for j in jobs] == ["credit-risk", "credit-risk-2", "branch7"]
    first, second, third = jobs
    assert first.traffic == first.model == "models:/credit-risk@champion" and first.since == "7d"
    assert first.current is None and first.reference == str(tmp_path / "data" / "ref.csv")
    assert second.current == str(tmp_path / "data" / "today.csv") and second.fail_on_drift
    assert third.reference == str(tmp_path / "other.csv") and third.report == "notebook"
    assert not third.current.startswith("~")  # the user's home, expanded
    assert all(j.notify == ("https://hooks.example.org/x",) for j in jobs)
    assert isinstance(first, MonitorJob) and first.to_dict()["notify"] == list(first.notify)


def test_a_bare_list_is_a_plan_and_an_explicit_name_wins_over_a_default_one(tmp_path):
    jobs = load_plan(
        [
            {"reference": "/r.csv", "current": "/a/today.csv"},
            {"reference": "/r.csv", "current": "/b/x.csv", "name": "today"},
        ]
    )
    assert [j.name for j in jobs] == ["today-2", "today"]


def test_the_notebook_parameters_leave_recording_to_the_fleet():
    job = load_plan([{"reference": "/r.csv", "traffic": "models:/m@champion", "ignore": "id"}])[0]
    params = job.notebook_parameters("/out/m")
    assert params["record"] is False and params["fail_on_drift"] is False
    assert params["traffic"] == params["model"] == "models:/m@champion"
    assert params["ignore"] == ["id"] and params["out"] == "/out/m"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("jobs: [", "not valid YAML at line"),
        ("- !!python/object/apply:os.system ['touch /tmp/pwned']", "not valid YAML"),
        ("jobs:\n  - reference: r.csv\n    reference: s.csv\n    current: c.csv\n", "twice"),
        ("42", "expected a mapping"),
        ("jobs: []", "non-empty list"),
        ("jobs: {a: 1}", "non-empty list"),
        ("job:\n  - reference: r.csv\n", "unknown top-level key 'job'"),
        ("jobs:\n  - 3\n", "job 1: expected a mapping"),
        ("jobs:\n  - {reference: r.csv, curent: c.csv}\n", "did you mean 'current'"),
        ("jobs:\n  - {reference: r.csv}\n", "'current' (a file) or 'traffic'"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, traffic: models:/m/1}\n", "not both"),
        ("jobs:\n  - {current: c.csv}\n", "'reference'"),
        ("jobs:\n  - {reference: r.csv, traffic: true}\n", "set 'model'"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, drift_share: .nan}\n", "from 0 to 1"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, drift_share: 1.5}\n", "from 0 to 1"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, drift_share: true}\n", "a number"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, fail_on_drift: 'yes please'}\n", "true or"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, ignore: [1, 2]}\n", "list of text"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, report: html}\n", "python, notebook"),
        ("jobs:\n  - {reference: [r.csv], current: c.csv}\n", "must be text"),
        ("jobs:\n  - {reference: '   ', current: c.csv}\n", "empty"),
        ("jobs:\n  - {reference: \"r\\0.csv\", current: c.csv}\n", "NUL"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, name: ../../etc}\n", "folder name"),
        ("jobs:\n  - {reference: r.csv, current: c.csv, name: .hidden}\n", "folder name"),
        ("jobs:\n  - {reference: r.csv, current: a.csv, name: x}\n"
         "  - {reference: r.csv, current: b.csv, name: x}\n", "job 1 is named 'x' too"),
        ("jobs:\n  - {reference: r.csv, current: a.csv, out: o}\n"
         "  - {reference: r.csv, current: b.csv, out: ./o}\n", "each job needs its own"),
        ("defaults: {name: x}\njobs:\n  - {reference: r.csv, current: a.csv}\n", "each job's own"),
        ("defaults: [1]\njobs:\n  - {reference: r.csv, current: a.csv}\n", "'defaults' must"),
        ("jobs:\n  - {? [a, b] : 1, reference: r.csv, current: c.csv}\n", "not text"),
    ],
)  # fmt: skip
def test_a_malformed_plan_is_refused_naming_where(tmp_path, text, said):
    path = _plan(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert said in message, message
    assert str(path) in message  # the file is named
    assert not (tmp_path.parent / "pwned").exists()


def test_an_alias_bomb_is_refused_quickly_without_expanding_it(tmp_path):
    levels = ["&a0 [" + ", ".join(["x"] * 10) + "]"]
    levels += [f"&a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 leaves
    path = _plan(
        tmp_path,
        f"jobs:\n  - {{reference: r.csv, current: c.csv, ignore: [{', '.join(levels)}]}}\n",
    )
    started = time.perf_counter()
    with pytest.raises(UsageError, match="ignore must be text or a list of text"):
        load_plan(path)
    assert time.perf_counter() - started < 5  # refused at the first nested list, never walked


def test_a_plan_too_long_or_too_large_or_not_text_is_refused(tmp_path):
    many = "jobs:\n" + "".join(
        f"  - {{reference: r.csv, current: c{i}.csv}}\n" for i in range(MAX_JOBS + 1)
    )
    with pytest.raises(UsageError, match=f"at most {MAX_JOBS}"):
        load_plan(_plan(tmp_path, many))
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 1_100_000 + "\njobs: []\n")
    with pytest.raises(UsageError, match="over 1 MB"):
        load_plan(big)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"jobs:\n  - \xff\xfe\x00\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_plan(binary)
    with pytest.raises(UsageError, match="does not exist"):
        load_plan(tmp_path / "no-such-plan.yaml")

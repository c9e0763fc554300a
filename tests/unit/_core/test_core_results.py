"""The result protocol: plain data, atomic saves, loads, HTML."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench._core.results import (
    Result,
    atomic_write,
    jsonable,
    plain,
    stamp,
    timestamped_folder,
)


@dataclass
class Toy(Result):
    """A small result for the protocol test."""

    FILE_NAME = "toy.json"
    name: str
    score: float
    values: list = field(default_factory=list)


def test_plain_and_jsonable_make_json_data():
    assert plain(np.float64(1.5)) == 1.5 and plain(np.int32(3)) == 3
    assert plain(math.nan) is None and plain(pd.NA) is None and plain(pd.NaT) is None
    assert plain(pd.Timestamp("2026-01-02")) == "2026-01-02T00:00:00"
    assert plain(1.23456789, digits=3) == 1.235
    data = jsonable({1: (np.int64(2), math.inf), "x": {"y": [np.bool_(True)]}})
    assert data == {"1": [2, None], "x": {"y": [True]}}
    json.dumps(data)


def test_save_load_roundtrip_into_a_folder_or_a_file(tmp_path):
    toy = Toy("a", np.float64(0.25), [1, math.nan])
    written = toy.save(tmp_path / "out")
    assert written == tmp_path / "out" / "toy.json"
    assert Toy.load(tmp_path / "out") == Toy("a", 0.25, [1, None])
    assert Toy.load(toy.save(tmp_path / "x.json")).name == "a"
    assert "<table>" in toy._repr_html_() and "0.25" in toy._repr_html_()


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write(tmp_path / "a" / "f.txt", "one")
    atomic_write(tmp_path / "a" / "f.txt", b"two")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.txt"]
    assert (tmp_path / "a" / "f.txt").read_text() == "two"


def test_stamps_sort_in_time_order(tmp_path):
    first, second = stamp(), stamp()
    assert first <= second and first.endswith("Z") and len(first) == 22
    assert timestamped_folder(tmp_path).parent == tmp_path

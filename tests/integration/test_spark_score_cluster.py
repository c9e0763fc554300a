"""Scoring on a two-executor ``local-cluster[2,1,1024]`` (two executor JVMs, as on a cluster): the
model travels to both inside the scorer, and the rows equal the pandas engine's."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.integration.test_spark_score_cli import _batch

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark_ready")]

CLUSTER_SCRIPT = """
import json, os, sys
import numpy as np, pandas as pd, psutil
import workbench as wb
from workbench.errors import UsageError
from workbench.spark import spark_session

def jvm_of(pid):  # the JVM a Python worker runs under (worker -> daemon -> executor JVM)
    for parent in psutil.Process(pid).parents():
        if parent.name() == "java":
            return parent.pid
    return None

wb.open_workspace(sys.argv[1])
frame = pd.read_parquet(sys.argv[3])
try:
    spark = spark_session("local-cluster[2,1,1024]")
except UsageError as err:
    print("SESSION_FAILED", err)
    sys.exit(4)
data = spark.createDataFrame(frame).repartition(4)
scored = wb.score(sys.argv[2], data, id_columns=["loan_id"], engine="spark", spark=spark)

def tag(batches):
    jvm = jvm_of(os.getpid())
    for batch in batches:
        yield batch.assign(jvm=jvm)

from pyspark.sql.types import LongType, StructField, StructType
schema = StructType([*scored.schema.fields, StructField("jvm", LongType())])
rows = scored.mapInPandas(tag, schema).toPandas().sort_values("loan_id", ignore_index=True)
expected = wb.score(sys.argv[2], frame, id_columns=["loan_id"], progress=False)
pd.testing.assert_frame_equal(rows.drop(columns="jvm"), expected, check_exact=False, rtol=0,
                              atol=1e-12)
driver = [p.pid for p in psutil.Process().children() if p.name() == "java"]
print(json.dumps({"jvms": sorted(set(rows["jvm"].tolist())), "driver": driver, "rows": len(rows)}))
spark.stop()
"""


def test_a_two_executor_local_cluster_scores_the_same_rows(trained, tmp_path):
    data = tmp_path / "batch.parquet"
    _batch(4000, seed=5).to_parquet(data, index=False)
    script = tmp_path / "cluster.py"
    script.write_text(textwrap.dedent(CLUSTER_SCRIPT))
    argv = [sys.executable, str(script), str(trained.ws.root), trained.forest.model_uri, str(data)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=400)
    if done.returncode == 4 and "SESSION_FAILED" in done.stdout:
        pytest.skip(f"local-cluster cannot start here: {done.stdout.strip()[:300]}")
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["rows"] == 4000
    assert len(seen["jvms"]) == 2 and None not in seen["jvms"], seen  # two executor JVMs
    assert not set(seen["jvms"]) & set(seen["driver"]), seen  # neither is the driver

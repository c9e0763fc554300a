"""`workbench backup` and `workbench restore` as a person on call runs them: a backup, a verified
restore into a new folder (exit 0), a tampered archive refused (exit 2, naming it, in JSON with
--json), a store that is not empty refused, and the schedule printed."""

from __future__ import annotations

import json

from workbench.cli import main


def test_backup_then_restore_then_refusals(workspace, tmp_path, capsys):
    import workbench as wb
    from workbench.data import credit_risk

    frame = credit_risk(300, seed=3)
    wb.train_and_log(frame, "default", name="cli-backup", family="logistic_regression")
    wb.promote("cli-backup", 1, by="ana", reason="the only one", force=True)
    out = tmp_path / "backups"
    out.mkdir()
    assert main(["--workspace", str(workspace.root), "backup", "--out", str(out), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    archive = made["archive"]
    assert archive.startswith(str(out)) and made["size"] > 0

    target = tmp_path / "restored"
    code = main(["--workspace", str(target), "restore", archive])
    said = capsys.readouterr().out
    assert code == 0, said
    assert "restored" in said and str(target) in said

    # the same archive again into the restored (non-empty) store: refused, nothing written
    assert main(["--workspace", str(target), "restore", archive, "--json"]) == 2
    refusal = json.loads(capsys.readouterr().out)
    assert refusal["kind"] == "StoreNotEmptyError" and refusal["exit_code"] == 2

    damaged = tmp_path / "damaged.tar.gz"
    data = bytearray(open(archive, "rb").read())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    assert main(["--workspace", str(tmp_path / "other"), "restore", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "damaged.tar.gz" in err and "Traceback" not in err
    assert not (tmp_path / "other" / "mlruns" / "mlflow.db").exists()


def test_every_prints_the_schedule_and_backs_up_nothing(trained, tmp_path, capsys):
    out = tmp_path / "b"
    out.mkdir()
    code = main(["--workspace", str(trained.ws.root), "backup", "--out", str(out), "--keep", "7",
                 "--every", "1d"])  # fmt: skip
    assert code == 0
    assert "backup --out" in capsys.readouterr().out and not any(out.iterdir())


def test_restore_needs_a_target(capsys, monkeypatch):
    monkeypatch.delenv("WORKBENCH_WORKSPACE", raising=False)
    assert main(["restore", "x.tar.gz"]) == 2
    assert "--workspace DIR" in capsys.readouterr().err

"""The command line as a user runs it: import, plan, commit, solve, and rejected imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.apps.cli import main
from tools.instances import read_instance
from tools.sql import SqlStore

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = sorted(p for p in (DATA / "bad_worlds").iterdir() if p.is_dir())


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOGISTICS_COPILOT_HOME", str(tmp_path))
    monkeypatch.delenv("LOGISTICS_COPILOT_DB_URL", raising=False)
    return tmp_path


def _store(home: Path) -> SqlStore:
    return SqlStore(f"sqlite:///{home / 'copilot.sqlite3'}")


def test_import_then_plan_then_commit(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(DATA / "worlds" / "hangzhou-0501")]) == 0
    assert "116 order(s)" in capsys.readouterr().out
    assert main(["plan", "--time-limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "116 orders served" in out and "draft" in out
    assert main(["plan", "--time-limit", "2", "--commit", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "committed" and doc["unassigned"] == []
    assert sum(len(r["stops"]) for r in doc["routes"]) == 116
    with _store(home) as store:
        committed = store.committed_plan("hangzhou-0501")
        assert committed is not None and committed.id == doc["plan_id"]
        assert [p.status.value for p in store.plans("hangzhou-0501")] == ["draft", "committed"]


@pytest.mark.parametrize("bad", BAD, ids=[p.name for p in BAD])
def test_rejected_import_names_the_cell_and_changes_nothing(bad: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(DATA / "worlds" / "tiny")]) == 0
    with _store(home) as store:
        before = (store.world_names(), store.load_world("tiny"), len(store.audit("tiny")))
    capsys.readouterr()
    assert main(["import", "--replace", str(bad)]) == 2
    err = capsys.readouterr().err
    for line in (bad / "expected.txt").read_text().splitlines():
        if line.strip():
            assert line.strip() in err
    with _store(home) as store:
        assert (store.world_names(), store.load_world("tiny"), len(store.audit("tiny"))) == before


def test_plan_without_a_world_says_what_to_do(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 2
    assert "logistics-copilot import" in capsys.readouterr().err


def test_solve_prints_exactly_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "instances" / "solomon" / "C101.txt"
    assert main(["solve", str(path), "--format", "solomon", "--time-limit", "1", "--seed", "1", "--json"]) == 0
    out = capsys.readouterr().out.strip()
    doc = json.loads(out)
    assert set(doc) >= {"instance", "routes", "distance", "vehicles", "solver", "wall_s"}
    inst = read_instance(path, "solomon")
    assert sorted(n for r in doc["routes"] for n in r) == list(range(1, 101))
    assert doc["distance"] == pytest.approx(inst.cost(doc["routes"]))
    assert doc["vehicles"] == len(doc["routes"]) and doc["wall_s"] > 0


def test_solve_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "nope.txt", "--format", "solomon"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_python_dash_m_copilot_shows_help() -> None:
    done = subprocess.run([sys.executable, "-m", "copilot", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "logistics-copilot" in done.stdout and "LOGISTICS_COPILOT_HOME" in done.stdout

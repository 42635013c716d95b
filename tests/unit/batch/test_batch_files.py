"""The files of a batch, without a desktop: rows (CSV and JSONL, refusals in one line), the
ledger (streamed lines, a cut-off line dropped, resume refusals), the summary and index, what
a run's output says of it, and the options a row is given."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agent.batch.ledger import CheckVerdict, RowRecord, open_ledger
from agent.batch.ray_pool import pack, unpack
from agent.batch.row_process import DesktopTarget, RowJob, RowSettings, command, read_outcome
from agent.batch.rows import load_rows
from agent.batch.tally import BatchProgress, summarize, write_index, write_summary
from agent.cli.batches import forwarded_options
from agent.cli.main import _parser
from agent.errors import ConfigurationError


def test_rows_from_csv_and_jsonl(tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text('button,mode\nAlpha,normal\n"Bra, vo",slow\n')
    rows = load_rows(csv, known={"button", "mode"})
    assert [(r.number, r.values, r.name) for r in rows] == [
        (1, {"button": "Alpha", "mode": "normal"}, "row-00001"),
        (2, {"button": "Bra, vo", "mode": "slow"}, "row-00002"),
    ]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"button": "Alpha", "n": 3}\n\n{"button": "Bravo", "n": 4.5}\n')
    assert [r.values for r in load_rows(jsonl)] == [
        {"button": "Alpha", "n": "3"},
        {"button": "Bravo", "n": "4.5"},
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("r.csv", "buton\nAlpha\n", "buton is not a variable of the task (its vars: button, mode)"),
        ("r.csv", "button,out\nA,B\n", "out is set by the runner"),
        ("r.csv", "button\n", "no rows"),
        ("r.csv", "button,mode\nA\n", "not as many fields as the header"),
        ("r.jsonl", '{"button": "A"}\n{"button": \n', "r.jsonl:2: not JSON"),
        ("r.jsonl", '{"button": ["A"]}\n', "r.jsonl:1: button: a value is text or a number"),
        ("r.txt", "button\nA\n", "a .csv or .jsonl file"),
    ],
)
def test_bad_rows_are_one_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigurationError) as raised:
        load_rows(path, known={"button", "mode"})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def record(row: int, status: str, passed: bool | None = True) -> RowRecord:
    checks = [] if passed is None else [CheckVerdict(check="file", passed=passed, detail="x")]
    return RowRecord(
        row=row, vars={"b": str(row)}, status=status, exit_code=0, checks=checks,
        trajectory=f"runs/row-{row:05d}", desktop="private:1", seconds=2.0,
    )  # fmt: skip


def test_the_ledger_streams_resumes_and_refuses(tmp_path: Path) -> None:
    out = tmp_path / "out"
    signature = {"task": "a", "rows": "b", "options": ["--backend", "ocr"]}
    ledger = open_ledger(out, signature, resume=False)
    ledger.write(record(1, "done"))
    ledger.write(record(2, "infra_error", None))
    ledger.close()
    with (out / "results.jsonl").open("a") as handle:
        handle.write('{"row": 3, "vars"')  # a line cut off by a killed batch
    with pytest.raises(ConfigurationError, match="already holds results: --resume"):
        open_ledger(out, signature, resume=False)
    with pytest.raises(ConfigurationError, match=r"another configuration \(options: "):
        open_ledger(out, {**signature, "options": []}, resume=True)
    again = open_ledger(out, signature, resume=True)
    assert again.finished() == {1}  # an infrastructure error runs again
    assert (out / "results.jsonl").read_text().endswith("\n")
    assert json.loads((out / "manifest.json").read_text())["signature"] == signature


def test_summary_index_and_progress(tmp_path: Path) -> None:
    records = [record(1, "done"), record(2, "failed", False), record(3, "error", None)]
    summary = summarize(records, total=4)
    assert summary["overall"] == {"passed": 1, "failed": 1, "error": 1}
    assert summary["checks"] == {"file": {"passed": 1, "failed": 1, "error": 1}}
    assert (summary["rows"], summary["finished"]) == (4, 3)
    write_summary(tmp_path, records, 4)
    assert "| file | 1 | 1 | 1 |" in (tmp_path / "summary.md").read_text()
    (tmp_path / "runs" / "row-00001").mkdir(parents=True)
    (tmp_path / "runs" / "row-00001" / "index.html").write_text("viewer")
    page = write_index(tmp_path, records).read_text()
    assert page.count('href="runs/row-00001/index.html"') == 1 and "row-00002/index" not in page
    stream = io.StringIO()
    meter = BatchProgress(4, 1, stream)
    meter.update(records[0])
    assert "2/4 rows: 1 passed 0 failed 0 error" in stream.getvalue()


def test_what_a_run_printed_is_its_outcome(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text(
        "launch: python app.py\nclick: Alpha -> (1,2) ocr 0.10s\n"
        "check file_contains path: x: passed (found)\ncheck visible: Saved: FAILED (not visible)\n"
        "failed: 1 of 2 checks failed: visible: Saved: not visible\n"
    )
    outcome = read_outcome(RowJob(3, "row-00003", {}), "private:1", log, 1, 4.25)
    assert (outcome.status, outcome.exit_code, outcome.number) == ("failed", 1, 3)
    assert outcome.message.startswith("1 of 2 checks failed")
    assert outcome.checks == [
        {"check": "file_contains path: x", "passed": True, "detail": "found"},
        {"check": "visible: Saved", "passed": False, "detail": "not visible"},
    ]
    log.write_text("gui-agent: error: cannot launch nothing: No such file\n")
    outcome = read_outcome(RowJob(1, "row-00001", {}), "d", log, 2, 0.5)
    assert (outcome.status, outcome.message) == ("error", log.read_text().strip())


def test_a_row_gets_the_run_options_as_given(tmp_path: Path) -> None:
    args = _parser().parse_args(
        ["batch", "t.yaml", "--rows", "r.csv", "--out", "o", "--backend", "openai",
         "--api-model", "m", "--secret", "PW", "--secret", "PIN", "--region", "0,0,100,50",
         "--clamp", "--max-seconds", "30", "--base-url", "http://a/v1", "--base-url", "http://b/v1"]
    )  # fmt: skip
    options = forwarded_options(args)
    assert options[:4] == ["--backend", "openai", "--api-model", "m"]
    assert "--clamp" in options and "--dry-run" not in options
    assert options[options.index("--cache-mode") + 1] == "read-only"  # the batch's default
    assert options[options.index("--region") + 1] == "0,0,100,50"
    assert [options[i + 1] for i, o in enumerate(options) if o == "--secret"] == ["PW", "PIN"]
    assert "--base-url" not in options and "--max-seconds" not in options
    settings = RowSettings(Path("t.yaml"), options, tuple(args.base_url), args.max_seconds)
    desktop = DesktopTarget("private:3", "local", {"DISPLAY": ":3"})
    line = command(RowJob(2, "row-00002", {"button": "B"}), settings, desktop, tmp_path)
    assert line[line.index("--var") + 1] == "button=B"
    assert line[line.index("--base-url") + 1] == "http://b/v1"  # rows take the servers in turn
    assert line[-2:] == ["--max-seconds", "30"]
    reparsed = _parser().parse_args(line[3:])  # what the row's process parses
    assert (reparsed.task, reparsed.desktop, reparsed.api_model) == (Path("t.yaml"), "local", "m")


def test_the_task_folder_travels_without_the_batch_inside_it(tmp_path: Path) -> None:
    """What a Ray node gets: the task's folder as bytes, less a batch directory inside it."""
    folder = tmp_path / "task"
    (folder / "apps").mkdir(parents=True)
    (folder / "task.yaml").write_text("name: t\n")
    (folder / "apps" / "app.py").write_text("print()\n")
    (folder / "batch" / "runs").mkdir(parents=True)
    (folder / "batch" / "runs" / "big.png").write_bytes(b"x" * 1000)
    data = pack((folder, "."), leave_out=folder / "batch")
    unpack(data, tmp_path / "node")
    got = sorted(str(p.relative_to(tmp_path / "node")) for p in (tmp_path / "node").rglob("*"))
    assert got == ["apps", "apps/app.py", "task.yaml"]

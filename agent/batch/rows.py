"""The rows of a batch: one run of the task per row, its columns (CSV) or keys (JSONL) the task's
variables.

:func:`load_rows` reads the whole file before anything runs, so a bad row (an unknown column, a
value that is not text or a number, a cut JSON line) is one line naming the file and the line,
never a half-started batch. Rows are numbered from 1 in file order; the number is the row's
identity in ``results.jsonl`` (a resumed batch finds its rows by it, and the manifest holds the
file's hash, so the numbering cannot shift under it).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ConfigurationError

__all__ = ["BUILT_INS", "Row", "load_rows"]

#: variables the task runner fills in itself; a row cannot set them
BUILT_INS = frozenset({"task_dir", "out", "python"})


@dataclass(frozen=True)
class Row:
    """One row: its number (from 1, in file order) and its variables."""

    number: int
    values: dict[str, str]

    @property
    def name(self) -> str:
        """The row's folder name under the batch's ``runs/``."""
        return f"row-{self.number:05d}"


def _value(path: Path, line: int, key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigurationError(f"{path}:{line}: {key}: a value is text or a number")
    return str(value)


def load_rows(path: Path, known: Collection[str] | None = None) -> list[Row]:
    """The rows of ``path`` (``.csv`` with a header line, or ``.jsonl``/``.ndjson``: one object a
    line). ``known``: the task's variables; a column outside them is refused (a typo would
    otherwise run every row with the default)."""
    if not path.is_file():
        raise ConfigurationError(f"--rows {path}: no such file")
    suffix = path.suffix.lower()
    rows: list[Row] = []
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for record in reader:
                line = reader.line_num
                if None in record or any(v is None for v in record.values()):
                    raise ConfigurationError(f"{path}:{line}: not as many fields as the header")
                values = {str(k).strip(): str(v) for k, v in record.items()}
                rows.append(Row(len(rows) + 1, values))
    elif suffix in (".jsonl", ".ndjson"):
        for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"{path}:{line}: not JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise ConfigurationError(f"{path}:{line}: a row is a JSON object")
            values = {str(k): _value(path, line, str(k), v) for k, v in record.items()}
            rows.append(Row(len(rows) + 1, values))
    else:
        raise ConfigurationError(f"--rows {path}: a .csv or .jsonl file")
    if not rows:
        raise ConfigurationError(f"--rows {path}: no rows")
    for row in rows:
        built_in = sorted(set(row.values) & BUILT_INS)
        if built_in:
            raise ConfigurationError(
                f"{path}: row {row.number}: {built_in[0]} is set by the runner"
            )
        if known is not None:
            unknown = sorted(set(row.values) - set(known))
            if unknown:
                names = ", ".join(sorted(known)) or "none"
                raise ConfigurationError(
                    f"{path}: row {row.number}: {unknown[0]} is not a variable of the task "
                    f"(its vars: {names})"
                )
    return rows

"""Secrets: values that are typed but never shown to the model or written anywhere.

A secret has a name and a value (``PASSWORD`` -> ``hunter2``; the CLI takes values from
environment variables named with ``--secret NAME``). The model is told the placeholder
``{PASSWORD}`` only; a ``type`` action whose text holds placeholders gets the values filled in
at the last moment, inside the act phase (:meth:`Secrets.expand`). Everything that is written or
printed (trajectory lines, meta.json, progress lines, errors) goes through :meth:`Secrets.redact`,
which puts the placeholder back wherever a value appears, so even a model that echoes a value
cannot leak it to disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.errors import ConfigurationError

__all__ = ["Secrets"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Secrets:
    """Named secret values; empty by default (then every method is the identity)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        values = dict(values or {})
        for name, value in values.items():
            if not _NAME.fullmatch(name):
                raise ConfigurationError(f"a secret's name is a plain identifier: {name!r}")
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"secret {name} is empty")
        # longest value first, so a value that contains another is redacted whole
        self._values = dict(sorted(values.items(), key=lambda kv: -len(kv[1])))

    def add(self, value: str, name: str | None = None) -> str:
        """Register ``value`` (under ``name``, or the next free ``SECRET_N``); its placeholder."""
        if name is None:
            name = next(
                f"SECRET_{n}"
                for n in range(1, len(self._values) + 2)
                if f"SECRET_{n}" not in self._values
            )
        if not _NAME.fullmatch(name):
            raise ConfigurationError(f"a secret's name is a plain identifier: {name!r}")
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"secret {name} is empty")
        if self._values.get(name, value) != value:
            raise ConfigurationError(f"secret {name} is already set to another value")
        values = {**self._values, name: value}
        self._values = dict(sorted(values.items(), key=lambda kv: -len(kv[1])))
        return self.placeholder(name)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __repr__(self) -> str:
        return f"Secrets({sorted(self._values)})"  # names only, never values

    @property
    def names(self) -> list[str]:
        return sorted(self._values)

    @staticmethod
    def placeholder(name: str) -> str:
        return "{" + name + "}"

    def expand(self, text: str) -> str:
        """``text`` with every ``{NAME}`` of a known secret replaced by its value."""
        for name, value in self._values.items():
            text = text.replace(self.placeholder(name), value)
        return text

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by its placeholder."""
        for name, value in self._values.items():
            text = text.replace(value, self.placeholder(name))
        return text

    def redact_data(self, data: Any) -> Any:
        """Every string inside JSON-like ``data`` (dicts, lists) redacted."""
        if not self._values:
            return data
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {self.redact(str(k)): self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(v) for v in data]
        return data

    def instruction_note(self) -> str:
        """What the model is told about the secrets it may type (names, never values)."""
        if not self._values:
            return ""
        names = ", ".join(self.placeholder(n) for n in self.names)
        return (
            f"\n(Secret values are available as placeholders: {names}. To enter one, type the "
            "placeholder exactly, with its braces; it is filled in when typed.)"
        )

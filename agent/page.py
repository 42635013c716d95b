"""Static HTML pages with their data inside: the trajectory viewer and the evaluation report.

A template holds one executable ``<script>`` (allowed by its hash in the page's
Content-Security-Policy, ``__SCRIPT_HASH__``, so no other script, inline handler or network
request can run) and a placeholder for the data, embedded once as JSON with every ``<`` written
as ``\\u003c`` so that no text can close its element. The page is written to a temporary file,
then renamed over the target. The rules both pages share are ``agent/page.css``, inlined in
place of ``/*__PAGE_CSS__*/`` (a page has no other file beside it to load).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from agent.errors import ConfigurationError

__all__ = ["write_page"]

_HASH_PLACEHOLDER = "__SCRIPT_HASH__"
_SCRIPT = "<script>"  # the page's one executable script (the data block has a type)
_SHARED_CSS = "/*__PAGE_CSS__*/"


def _template(package: str, name: str) -> str:
    template = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    shared = resources.files("agent").joinpath("page.css").read_text(encoding="utf-8")
    template = template.replace(_SHARED_CSS, shared, 1)
    start = template.index(_SCRIPT) + len(_SCRIPT)
    code = template[start : template.index("</script>", start)]
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")
    return template.replace(_HASH_PLACEHOLDER, f"sha256-{digest}", 1)


def write_page(
    target: Path, template: tuple[str, str], placeholder: str, data: Any, what: str
) -> Path:
    """Write ``target`` from ``template`` (package, file name) with ``data`` in place of
    ``placeholder``; ConfigurationError (naming ``what``) when it cannot be written."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    page = _template(*template).replace(placeholder, text.replace("<", "\\u003c"), 1)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the {what} {target}: {exc}") from exc
    return target

"""``gui-agent ground IMAGE INSTRUCTION``: where one element is, printed as JSON and drawn on a
copy of the image. :mod:`agent.cli.main` parses the command line and calls it."""

from __future__ import annotations

import argparse
import json

from agent.cli.options import make_grounder
from agent.errors import ConfigurationError
from agent.styles.registry import make_style


def ground(args: argparse.Namespace) -> int:
    from PIL import Image, UnidentifiedImageError

    from agent.grounding.result import annotate, ground

    try:
        with Image.open(args.image) as opened:
            image = opened.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise ConfigurationError(f"cannot read image {args.image}: {exc}") from exc
    style = make_style(args.style)
    ocr = args.backend == "ocr"
    grounder = make_grounder(args, style)
    result = ground(image, args.instruction, grounder, None if ocr else style, clamp=args.clamp)
    out = args.out or args.image.with_name(f"{args.image.stem}.ground.png")
    annotate(image, result, args.instruction).save(out)
    print(json.dumps({**result.as_json(), "annotated": str(out)}, ensure_ascii=False))
    return 0

"""Polygon targets (OSWorld-G): point in polygon by ray casting, the boundary inclusive.

A polygon is a flat sequence ``x1, y1, x2, y2, ...`` of at least three vertices, in image
pixels, as OSWorld-G's ``box_coordinates`` write it. The official scorer
(``GroundingEval._eval``) counts crossings of a ray going right from the point; a point ON an
edge or vertex is inside here (the ray test alone may say either there).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["in_polygon", "polygon_bounds"]

_EPS = 1e-9


def _vertices(polygon: Sequence[float]) -> list[tuple[float, float]]:
    return [(polygon[i], polygon[i + 1]) for i in range(0, len(polygon) - 1, 2)]


def _on_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> bool:
    (x, y), (ax, ay), (bx, by) = p, a, b
    cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
    scale = max(abs(bx - ax), abs(by - ay), 1.0)
    if abs(cross) > _EPS * scale:
        return False
    return (
        min(ax, bx) - _EPS <= x <= max(ax, bx) + _EPS
        and min(ay, by) - _EPS <= y <= max(ay, by) + _EPS
    )


def in_polygon(point: tuple[float, float], polygon: Sequence[float]) -> bool:
    """Whether ``point`` lies in the polygon (flat ``x1, y1, x2, y2, ...``), edges included."""
    vertices = _vertices(polygon)
    if len(vertices) < 3:
        return False
    x, y = point
    inside = False
    j = len(vertices) - 1
    for i, (xi, yi) in enumerate(vertices):
        xj, yj = vertices[j]
        if _on_segment(point, (xi, yi), (xj, yj)):
            return True
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def polygon_bounds(polygon: Sequence[float]) -> tuple[float, float, float, float]:
    """The bounding box x1, y1, x2, y2 of a flat polygon."""
    xs, ys = polygon[0::2], polygon[1::2]
    return (min(xs), min(ys), max(xs), max(ys))

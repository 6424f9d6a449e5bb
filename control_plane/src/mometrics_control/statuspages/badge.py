"""A small flat SVG badge: a grey label and a coloured value."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

# Roughly the advance of an 11 px Verdana character, in pixels.
_CHAR_WIDTH_PX = 7
_PADDING_PX = 10


def format_uptime(uptime: float | None) -> str:
    """Format a 0..1 fraction as a percentage floored to two decimals: never 100% too early."""
    if uptime is None:
        return "no data"
    percent = math.floor(uptime * 10_000) / 100
    return f"{percent:.2f}%".replace(".00%", "%")


def colour_of(uptime: float | None) -> str:
    if uptime is None:
        return "#9f9f9f"
    if uptime >= 0.999:
        return "#4c1"
    if uptime >= 0.99:
        return "#97ca00"
    if uptime >= 0.95:
        return "#dfb317"
    return "#e05d44"


def render_badge(label: str, value: str, colour: str) -> str:
    label_w = len(label) * _CHAR_WIDTH_PX + _PADDING_PX
    value_w = len(value) * _CHAR_WIDTH_PX + _PADDING_PX
    width = label_w + value_w
    label_text = escape(label, {'"': "&quot;"})
    value_text = escape(value, {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{label_text}: {value_text}">'
        f"<title>{label_text}: {value_text}</title>"
        f'<rect width="{label_w}" height="20" fill="#555"/>'
        f'<rect x="{label_w}" width="{value_w}" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{label_w / 2}" y="14">{label_text}</text>'
        f'<text x="{label_w + value_w / 2}" y="14">{value_text}</text>'
        "</g></svg>"
    )

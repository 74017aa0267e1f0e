"""Ticket codes as QR codes (segno): SVG for the pages, the module matrix for the PDF.

Error correction M (15% of the symbol may be lost): a GA code (154 characters) fits a version
6 symbol, 41 x 41 modules, and a seat's a version 7. The code's characters are the QR
alphanumeric set, so segno encodes them at 5.5 bits a character. Error correction is fixed
(no boosting) so every ticket of a kind comes out the same size.
"""

from __future__ import annotations

from html import escape

import segno

ERROR = "m"
# The quiet zone the QR standard asks for, in modules.
BORDER = 4


def make(code: str) -> segno.QRCode:
    return segno.make(code, error=ERROR, boost_error=False, micro=False)


def svg(code: str, label: str) -> str:
    """An inline SVG of the code, scaling with its box (no width or height, a viewBox), named
    for screen readers by ``label`` (role="img", aria-label and a <title>)."""
    text = make(code).svg_inline(
        scale=1,
        border=BORDER,
        title=label,
        omitsize=True,
        svgclass="ticket-qr__svg",
        dark="#000",
        light="#fff",
    )
    # Dark on white whatever the page's theme: scanners need the contrast.
    attrs = f'role="img" aria-label="{escape(label)}" shape-rendering="crispEdges"'
    return text.replace("<svg ", f"<svg {attrs} ", 1)


def dark_runs(code: str) -> tuple[int, list[tuple[int, int, int]]]:
    """(symbol size in modules with the quiet zone, [(row, first column, length)] of every
    horizontal run of dark modules): a PDF draws one rectangle per run."""
    qr = make(code)
    rows = [list(r) for r in qr.matrix_iter(border=BORDER)]
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return len(rows), runs

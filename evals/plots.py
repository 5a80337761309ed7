"""The report's figures, drawn with matplotlib's Agg backend and returned as PNG bytes.

`matplotlib.figure.Figure` is used directly (no pyplot): no global state, no display, no
backend to select, so the plots render the same on a laptop and in CI.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

#: One palette for every figure (colour-blind safe: blue / orange / grey).
BLUE, ORANGE, GREY, GREEN, RED = "#3b6fb6", "#e08a2c", "#9aa3ad", "#3c9a5f", "#c8553d"
DPI = 110


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def confusion_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> bytes:
    """Heat map of a confusion matrix, shaded by row share, annotated with counts."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = 1.6 + 0.62 * len(labels)
    fig = _figure(size + 1.2, size)
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted", fontsize=9)
    ax.set_ylabel("expected", fontsize=9)
    ax.set_title(title, fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if counts[i, j]:
                dark = shares[i, j] > 0.55
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if dark else ("#222" if i == j else RED))
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the expected row")
    return _png(fig)


def per_class_png(per_class: dict[str, dict[str, Any]], title: str) -> bytes:
    """Grouped horizontal bars: precision and recall per team, support in the labels."""
    import numpy as np

    labels = [name for name, row in per_class.items() if row.get("support") or
              row.get("precision")]
    fig = _figure(6.4, 1.0 + 0.45 * max(len(labels), 1))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    precision = [per_class[name]["precision"] or 0 for name in labels]
    recall = [per_class[name]["recall"] or 0 for name in labels]
    ax.barh(y - 0.2, precision, height=0.38, color=BLUE, label="precision")
    ax.barh(y + 0.2, recall, height=0.38, color=ORANGE, label="recall")
    for row, (p, r) in enumerate(zip(precision, recall, strict=True)):
        ax.text(p + 0.01, row - 0.2, f"{p:.2f}", va="center", fontsize=7)
        ax.text(r + 0.01, row + 0.2, f"{r:.2f}", va="center", fontsize=7)
    ax.set_yticks(y, [f"{n} ({per_class[n]['support']})" for n in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=2,
              frameon=False)
    _style(ax)
    return _png(fig)


def reliability_png(bins: Sequence[dict[str, Any]], ece: float | None, title: str) -> bytes:
    """Reliability diagram: accuracy per confidence bin against the diagonal, counts below."""
    fig = _figure(5.2, 4.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    width = 1 / max(len(bins), 1)
    filled = [b for b in bins if b["n"]]
    top.plot([0, 1], [0, 1], linestyle="--", color=GREY, linewidth=1, label="perfect calibration")
    top.bar([b["lo"] for b in filled], [b["accuracy"] for b in filled], width=width * 0.92,
            align="edge", color=BLUE, alpha=0.85, label="accuracy")
    top.scatter([b["confidence"] for b in filled], [b["accuracy"] for b in filled],
                color=ORANGE, zorder=3, s=16, label="mean confidence")
    top.set_ylim(0, 1.02)
    top.set_ylabel("accuracy", fontsize=9)
    top.set_title(f"{title} (ECE {ece:.3f})" if ece is not None else title, fontsize=10)
    top.legend(fontsize=7, loc="upper left", frameon=False)
    bottom.bar([b["lo"] for b in bins], [b["n"] for b in bins], width=width * 0.92,
               align="edge", color=GREY)
    bottom.set_ylabel("tickets", fontsize=9)
    bottom.set_xlabel("team_confidence", fontsize=9)
    bottom.set_xlim(0, 1)
    for ax in (top, bottom):
        _style(ax)
    return _png(fig)


def rates_png(rates: dict[str, float | None], title: str, floor: float | None = None) -> bytes:
    """Horizontal bars of pass rates (draft checks, judge criteria), red under `floor`."""
    names = [n for n, v in rates.items() if v is not None]
    values = [float(rates[n] or 0) for n in names]
    fig = _figure(6.0, 0.9 + 0.36 * max(len(names), 1))
    ax = fig.add_subplot()
    colours = [RED if floor is not None and v < floor else GREEN for v in values]
    ax.barh(range(len(names)), values, color=colours)
    for row, value in enumerate(values):
        ax.text(value + 0.01, row, f"{value:.0%}", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_title(title, fontsize=10)
    _style(ax)
    return _png(fig)

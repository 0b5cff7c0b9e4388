"""A stacked bar chart of statements per day, drawn as SVG on the server (no script, no style
attributes, so the strict Content-Security-Policy holds), with the same numbers as a table."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

# Okabe-Ito: told apart by people with any common colour-vision deficiency.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#555555")
MAX_SERIES = len(COLOURS) - 1  # the rest is "other"
WIDTH, HEIGHT, AXIS = 720, 260, 40
MAX_LABELS = 8  # day labels under the bars, readable on a phone


def stacked(counts: list[dict], since: dt.date, until: dt.date) -> dict[str, Any]:
    """Days, series (the biggest keys, then "other") and bars ready for the template."""
    days = [(since + dt.timedelta(days=n)).isoformat() for n in range((until - since).days + 1)]
    per_key: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in counts:
        per_key[_short(row["_id"]["key"])][row["_id"]["day"]] += row["count"]
    ranked = sorted(per_key, key=lambda key: -sum(per_key[key].values()))
    series = ranked[:MAX_SERIES]
    if len(ranked) > MAX_SERIES:
        other: dict[str, int] = defaultdict(int)
        for key in ranked[MAX_SERIES:]:
            for day, count in per_key[key].items():
                other[day] += count
        per_key["other"] = other
        series.append("other")
    totals = {day: sum(per_key[key].get(day, 0) for key in series) for day in days}
    top = max(totals.values(), default=0) or 1
    step = (WIDTH - AXIS) / len(days)
    bars = []
    for index, day in enumerate(days):
        base = HEIGHT - AXIS
        for key, colour in zip(series, COLOURS, strict=False):
            count = per_key[key].get(day, 0)
            height = count / top * (HEIGHT - AXIS - 10)
            if count:
                bars.append({"x": round(AXIS + index * step + step * 0.1, 1), "y": round(base - height, 1),
                             "width": round(step * 0.8, 1), "height": round(height, 1), "colour": colour,
                             "title": f"{day}, {key}: {count}"})
            base -= height
    return {"days": days, "series": list(zip(series, COLOURS, strict=False)), "bars": bars, "totals": totals, "top": top,
            "table": [[day, *(per_key[key].get(day, 0) for key in series)] for day in days],
            "width": WIDTH, "height": HEIGHT, "axis": AXIS, "step": step,
            "labels": [(round(AXIS + i * step + step / 2, 1), day[5:]) for i, day in enumerate(days)
                       if i % -(-len(days) // MAX_LABELS) == 0]}


def _short(key: Any) -> str:
    """A verb IRI by its last segment (`.../verbs/completed` -> completed); sources as they are."""
    text = str(key) if key is not None else "(none)"
    return text.rstrip("/").rsplit("/", 1)[-1] if "://" in text else text

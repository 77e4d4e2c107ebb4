"""Presentation of a what-if sweep: the printed table, the PNG plot, a self-contained HTML report.

The HTML page embeds the plot as a base64 data URI and styles itself inline; its
Content-Security-Policy forbids every fetch, so it opens the same with or without a network.
matplotlib is imported only when a plot is drawn (Agg backend, no display needed).
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

import numpy as np
import pandas as pd

from engine.whatif import WhatIf


# --- the printed table ---------------------------------------------------------------------------
def display_frame(w: WhatIf) -> pd.DataFrame:
    """The columns a reader needs, in reading order (the CSV has them all)."""
    t = w.table
    keep = ["point"]
    if "scale" in t:
        keep.append("scale")
    keep += [c for c in t.columns if c.startswith("limit_")]
    if "probability" in t:
        keep.append("probability")
    keep += ["status", "value", "gap"]
    if t["lp_value"].notna().any():
        keep.append("lp_value")
    keep += [c for c in t.columns if c.startswith("lambda_")]
    keep += [c for c in t.columns if c.startswith("spend_")]
    keep += w.share_columns
    return t[keep]


def _cell(col: str, x: Any) -> str:
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if col == "point":
        return str(int(x))
    if col.startswith("share_"):
        return f"{100.0 * float(x):.1f}%"
    if col == "gap":
        return f"{float(x):.1e}"
    if col in ("scale", "probability"):
        return f"{float(x):.4g}"
    return f"{float(x):.6g}"


def formatted_rows(w: WhatIf) -> tuple[list[str], list[list[str]]]:
    frame = display_frame(w)
    header = [c.removeprefix("share_") if c.startswith("share_") else c for c in frame.columns]
    rows = [[_cell(c, v) for c, v in zip(frame.columns, rec, strict=True)]
            for rec in frame.itertuples(index=False, name=None)]
    return header, rows


def format_table(w: WhatIf) -> str:
    """A fixed-width text table; shares in percent of units."""
    header, rows = formatted_rows(w)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(wd) for h, wd in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(wd) for c, wd in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def csv_text(w: WhatIf) -> str:
    return w.table.to_csv(index=False, float_format="%.10g")


# --- the plot ------------------------------------------------------------------------------------
def _frontier_curve(w: WhatIf) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(x, LP value, lambda) on a fine grid over the sweep's range, from the exact frontier."""
    f = w.frontier
    if f is None:
        return None
    lo, hi = float(w.sweep.limits[:, 0].min()), float(w.sweep.limits[:, 0].max())
    if hi <= lo:
        return None
    inside = f.budget[(f.budget > lo) & (f.budget < hi)]
    grid = np.linspace(lo, hi, 800)
    if inside.size > 1000:
        # millions of breakpoints (one per hull increment): a fine grid draws the same curve
        b = grid
    else:
        # few breakpoints: draw each kink exactly, and lambda's steps at the right budgets
        b = np.unique(np.concatenate([grid, inside, inside - 1e-9 * (hi - lo)]))
    x = b / w.sweep.limits[0, 0] * w.sweep.axis[0] if w.sweep.kind == "scale" else b
    return x, f.value_at(b), f.slope_at(b)


def render_png(w: WhatIf, *, dpi: int = 110, width: float = 8.0, height: float = 7.0) -> bytes:
    """Value vs budget, lambda on a second axis (top); treatment mix as stacked areas (bottom)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    t = w.table
    x = w.sweep.axis
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    ax, ax_mix = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    curve = _frontier_curve(w)
    names = [c.removeprefix("lambda_") for c in t.columns if c.startswith("lambda_")]

    if curve is not None:
        ax.plot(curve[0], curve[1], color="#9ecae1", lw=2.5, label="LP frontier (exact)")
    ax.plot(x, t["value"], "o-", color="#08519c", ms=4, lw=1.2, label="integer value")
    if curve is None:
        lp = t["lp_value"].to_numpy(dtype=float)
        bound = t["bound"].to_numpy(dtype=float)
        if np.isfinite(lp).any():
            ax.plot(x, lp, "--", color="#6baed6", lw=1.2, label="LP value")
        elif np.isfinite(bound).any():
            ax.plot(x, bound, "--", color="#6baed6", lw=1.2, label="certified bound")
    ax.set_ylabel("value")
    ax.grid(alpha=0.3)

    ax_l = ax.twinx()
    colors = ["#d94801", "#a63603", "#fd8d3c", "#7f2704", "#f16913"]
    for k, name in enumerate(names):
        color = colors[k % len(colors)]
        if curve is not None and k == 0:
            ax_l.plot(curve[0], curve[2], color=color, lw=1.2, drawstyle="steps-post",
                      label=f"lambda {name} (marginal value)")
            ax_l.plot(x, t[f"lambda_{name}"], "s", color=color, ms=3)
        else:
            ax_l.plot(x, t[f"lambda_{name}"], "s-", color=color, ms=3, lw=1,
                      label=f"lambda {name} (marginal value)")
    ax_l.set_ylabel("lambda: value per unit of budget")
    ax_l.set_ylim(bottom=0)
    for xm, p in w.scenario_marks:
        ax.axvline(xm, color="#636363", lw=0.8, alpha=min(1.0, 0.25 + 2.0 * p), ls=":")
    handles = ax.get_legend_handles_labels()
    handles_l = ax_l.get_legend_handles_labels()
    if w.scenario_marks:
        from matplotlib.lines import Line2D

        handles[0].append(Line2D([], [], color="#636363", lw=0.8, ls=":"))
        handles[1].append("budget scenarios")
    ax.legend(handles[0] + handles_l[0], handles[1] + handles_l[1], loc="lower right",
              fontsize=8, framealpha=0.9)
    ax.set_title(f"What-if: {w.instance_name} ({w.n_units:,} units, solver {w.solver})",
                 fontsize=10)

    shares = [c for c in w.share_columns]
    labels = [c.removeprefix("share_") for c in shares]
    data = np.nan_to_num(t[shares].to_numpy(dtype=float).T * 100.0)
    cmap = matplotlib.colormaps["viridis"]
    palette = [cmap(i / max(1, len(shares) - 1)) for i in range(len(shares))]
    if len(x) > 1:
        ax_mix.stackplot(x, data, labels=labels, colors=palette, alpha=0.9)
    else:
        bottom = 0.0
        span = max(abs(float(x[0])) * 0.05, 1e-9)
        for row, lab, col in zip(data, labels, palette, strict=True):
            ax_mix.bar(x, row, bottom=bottom, width=span, label=lab, color=col)
            bottom += float(row[0])
    ax_mix.set_ylim(0, 100)
    ax_mix.set_ylabel("treatment mix (% of units)")
    ax_mix.set_xlabel(w.sweep.axis_label)
    ax_mix.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    ax_mix.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# --- the HTML report -----------------------------------------------------------------------------
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 72em; padding: 0 1em; color: #1b1b1b; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.meta { color: #555; }
img.plot { max-width: 100%; height: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e3e3e3; text-align: right; }
th { background: #f3f5f8; position: sticky; top: 0; }
tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; }
dt { font-weight: 600; margin-top: 0.5em; }
"""


def _kv_list(items: list[tuple[str, str]]) -> str:
    return "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items
    )


def render_html(w: WhatIf, png: bytes) -> str:
    """One self-contained page: the plot (base64), the table, and how to read lambda."""
    header, rows = formatted_rows(w)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    img = base64.b64encode(png).decode("ascii")
    name = html.escape(w.instance_name)
    params: list[tuple[str, str]] = [
        ("instance",
         f"{w.instance_name} ({w.n_units:,} units; options {', '.join(w.option_labels)})"),
        ("sweep", _sweep_text(w)),
        ("solver", f"{w.solver}; {w.sweep.n_points} points in {w.seconds:.2f} s"),
    ]
    if w.lambda_source:
        params.append(("lambda from", w.lambda_source))
    if w.cost_scale:
        params.append(("cost scale", ", ".join(f"{o} x{f:g}" for o, f in w.cost_scale.items())))
    if w.value_scale:
        params.append(("value scale", ", ".join(f"{o} x{f:g}" for o, f in w.value_scale.items())))
    if w.expected_value is not None:
        params.append(("expected value", f"{w.expected_value:.6g} over the budget scenarios "
                                           "(a plan per scenario)"))
    if w.scenario_marks:
        params.append(("budget scenarios", ", ".join(
            f"{x:.4g} (p={p:.3g})" for x, p in w.scenario_marks)))
    for note in w.notes:
        params.append(("note", note))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>What-if: {name}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>What-if plan: {name}</h1>
<dl class="meta">{_kv_list(params)}</dl>
<h2>Value, marginal value and treatment mix</h2>
<img class="plot" id="whatif-plot" alt="value and lambda versus budget; treatment mix"
     src="data:image/png;base64,{img}">
<h2>Table</h2>
<div class="scroll"><table id="whatif-table">
<thead><tr>{head}</tr></thead>
<tbody>{body}</tbody>
</table></div>
<h2>How to read it</h2>
<dl>
<dt>value, gap</dt><dd>the value of the integer allocation at that budget; gap is its certified
distance to the best possible value, (bound &minus; value) / max(1, |bound|).</dd>
<dt>lp_value</dt><dd>the exact value of the LP relaxation (fractional allocations allowed): an
upper bound on the integer value, concave in the budget.</dd>
<dt>lambda</dt><dd>the marginal value of budget: how much value one more unit of that budget buys
at this point (the slope of the value curve). It falls as the budget grows; where it is near 0,
more budget buys almost nothing. Compare it with what a unit of budget is worth elsewhere.</dd>
<dt>spend, shares</dt><dd>budget used by the plan and the share of units given each option.</dd>
</dl>
</body>
</html>
"""


def _sweep_text(w: WhatIf) -> str:
    s = w.sweep
    lo, hi = float(s.axis.min()), float(s.axis.max())
    if s.kind == "scale":
        return f"every budget scaled from x{lo:.4g} to x{hi:.4g} ({s.n_points} points)"
    return f"budget {s.budget!r} from {lo:.6g} to {hi:.6g} ({s.n_points} points)"

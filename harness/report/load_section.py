"""The report's load-sweep section, shown only when summary.json has a `"load"` key: latency (p50/p95/p99
of TTFT, ITL and e2e, from the send and from the schedule) against the achieved rate, throughput against
the offered rate, the SLO share and goodput, with the saturation knee and the SLO marked; a table per
load point (client honesty included) and each metric's formula. Figures are pure functions of the load
block (an SVG string each); nothing here computes a statistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.canvas import new_figure, percent_axis, series_color, to_svg
from harness.report.context import Figure, Section, Table
from harness.report.formatting import DASH, fmt_int, fmt_rate, fmt_seconds, fmt_usd
from harness.report.tables import cell

__all__ = ["latency_vs_rate", "load_markdown", "load_section", "slo_vs_rate", "throughput_vs_offered"]

_QS = (("p50", "-"), ("p95", "--"), ("p99", ":"))
KNEE_COLOR = "#d62728"
SLO_COLOR = "#2ca02c"


def _f(value: Any) -> float:
    """A plotted value: missing ones are NaN (a gap in the line)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def _x(point: Mapping[str, Any]) -> float | None:
    value = point.get("throughput_rps")
    return float(value) if isinstance(value, int | float) else None


def _curve_points(points: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Points on the rate curves, by achieved rate (the throughput phase is its own marker)."""
    usable = [p for p in points if _x(p) is not None]
    return sorted(usable, key=lambda p: _x(p) or 0.0)


def _mark_knee(ax: Any, knee: float | None, *, vertical: bool = True) -> None:
    if knee is None:
        return
    line = ax.axvline if vertical else ax.axhline
    line(knee, color=KNEE_COLOR, linewidth=1.0, linestyle="-.", label=f"knee {knee:.3g} req/s")


def latency_vs_rate(
    points: Sequence[Mapping[str, Any]], knee: float | None, slo: Mapping[str, Any] | None
) -> str:
    """Three panels (TTFT, ITL, e2e): p50/p95/p99 against the achieved rate; solid colours from the
    send, grey from the schedule; the knee and each SLO bound marked."""
    curve = _curve_points(points)
    fig, axes = new_figure(11.0, 3.4, ncols=3)
    xs = [_f(_x(p)) for p in curve]
    panels = (
        ("ttft_s", "ttft_from_schedule_s", "TTFT"),
        ("itl_s", None, "ITL (mean gap per request)"),
        ("e2e_s", "e2e_from_schedule_s", "end-to-end"),
    )
    for ax, (name, sched, title) in zip(axes, panels, strict=True):
        for index, (q, style) in enumerate(_QS):
            ys = [_f(p["latency"][name].get(q)) for p in curve]
            ax.plot(
                xs,
                ys,
                linestyle=style,
                marker="o",
                markersize=3,
                color=series_color(index, 3),
                label=f"{q} from send",
            )
            if sched is not None:
                ys = [_f(p["latency"][sched].get(q)) for p in curve]
                ax.plot(xs, ys, linestyle=style, color="#888888", linewidth=0.9, label=f"{q} from schedule")
        _mark_knee(ax, knee)
        bound = (slo or {}).get(name)
        if isinstance(bound, int | float):
            ax.axhline(bound, color=SLO_COLOR, linewidth=1.2, label=f"SLO {bound:g} s")
        ax.set_title(title)
        ax.set_xlabel("achieved rate (completed req/s)")
        ax.set_ylabel("seconds")
    axes[-1].legend(loc="upper left", fontsize=7)
    return to_svg(fig, label="latency percentiles against achieved rate")


def throughput_vs_offered(points: Sequence[Mapping[str, Any]], knee: float | None) -> str:
    """Completed requests/s and output tokens/s against the offered rate (closed-loop points at the
    rate they sent), with the ideal y = x line and the knee."""
    usable = [p for p in points if p.get("throughput_rps") is not None and p.get("kind") != "throughput"]
    offered = [p.get("offered_rps") or p.get("achieved_rps") or 0.0 for p in usable]
    order = sorted(range(len(usable)), key=lambda i: offered[i])
    xs = [offered[i] for i in order]
    fig, (ax,) = new_figure(5.6, 3.4)
    ax.plot(
        xs,
        [usable[i]["throughput_rps"] for i in order],
        marker="o",
        color=series_color(0, 2),
        label="completed req/s",
    )
    if xs:
        top = max(xs)
        ax.plot(
            [0, top], [0, top], color="#bbbbbb", linewidth=0.8, linestyle=":", label="completed = offered"
        )
    _mark_knee(ax, knee, vertical=False)
    ax.set_xlabel("offered rate (req/s; closed loop: as sent)")
    ax.set_ylabel("requests per second")
    twin = ax.twinx()
    twin.plot(
        xs,
        [_f(usable[i].get("output_tps")) for i in order],
        marker="s",
        markersize=3,
        color=series_color(1, 2),
        linestyle="--",
        label="output tok/s",
    )
    twin.set_ylabel("output tokens per second")
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = twin.get_legend_handles_labels()
    ax.legend(lines + more, labels + more_labels, loc="upper left", fontsize=7)
    ax.set_title("Throughput against offered rate")
    return to_svg(fig, label="throughput against offered rate")


def slo_vs_rate(points: Sequence[Mapping[str, Any]], slo: Mapping[str, Any], knee: float | None) -> str:
    """The share of requests meeting every SLO and each one, against the achieved rate, with the
    quantile line and the highest rate meeting the SLO."""
    curve = [p for p in _curve_points(points) if p.get("kind") != "throughput" and p.get("slo")]
    xs = [_f(_x(p)) for p in curve]
    fig, (ax,) = new_figure(5.6, 3.4)
    names = ["all", *[k for k in ("ttft_s", "itl_s", "e2e_s") if slo.get(k) is not None]]
    for index, name in enumerate(names):
        ys = [_f(p["slo"]["share"].get(name)) for p in curve]
        ax.plot(
            xs,
            ys,
            marker="o" if name == "all" else None,
            linewidth=1.8 if name == "all" else 0.9,
            color=series_color(index, len(names)),
            label="every SLO" if name == "all" else name,
        )
    quantile = slo.get("quantile")
    if isinstance(quantile, int | float):
        ax.axhline(quantile, color=SLO_COLOR, linewidth=1.0, linestyle="--", label=f"quantile {quantile:g}")
    best = slo.get("max_rate_at_slo")
    if isinstance(best, int | float):
        ax.axvline(best, color=SLO_COLOR, linewidth=1.2, label=f"max rate at SLO {best:.3g}")
    _mark_knee(ax, knee)
    percent_axis(ax)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("achieved rate (completed req/s)")
    ax.set_ylabel("requests meeting the SLO")
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title("SLO attainment against rate")
    return to_svg(fig, label="SLO attainment against rate")


def _pct(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else DASH


def _points_table(points: Sequence[Mapping[str, Any]], has_slo: bool) -> Table:
    columns = [
        "point",
        "offered",
        "scheduled",
        "sent",
        "completed",
        "out tok/s",
        "p50 e2e",
        "p95 e2e",
        "p95 e2e (sched.)",
        "p95 TTFT",
        "p95 ITL",
        "cost / 1k req",
        "p95 lag",
        "client CPU",
        "saturated",
    ]
    if has_slo:
        columns[11:11] = ["goodput", "meet SLO"]
    rows = []
    for p in points:
        lat = p["latency"]
        row = [
            cell(str(p["id"]), str(p["id"])),
            cell(fmt_rate(p.get("offered_rps")), p.get("offered_rps")),
            cell(fmt_rate(p.get("scheduled_rps")) if p.get("offered_rps") else DASH, p.get("scheduled_rps")),
            cell(fmt_rate(p.get("achieved_rps")), p.get("achieved_rps")),
            cell(fmt_rate(p.get("throughput_rps")), p.get("throughput_rps")),
            cell(
                fmt_int(round(p["output_tps"])) if p.get("output_tps") is not None else DASH,
                p.get("output_tps"),
            ),
            cell(fmt_seconds(lat["e2e_s"]["p50"]), lat["e2e_s"]["p50"]),
            cell(fmt_seconds(lat["e2e_s"]["p95"]), lat["e2e_s"]["p95"]),
            cell(fmt_seconds(lat["e2e_from_schedule_s"]["p95"]), lat["e2e_from_schedule_s"]["p95"]),
            cell(fmt_seconds(lat["ttft_s"]["p95"]), lat["ttft_s"]["p95"]),
            cell(fmt_seconds(lat["itl_s"]["p95"]), lat["itl_s"]["p95"]),
            cell(fmt_usd(p.get("cost_per_1k_requests_usd")), p.get("cost_per_1k_requests_usd")),
            cell(fmt_seconds(p["lag_s"]["p95"]), p["lag_s"]["p95"]),
            cell(
                _pct(p["client"]["cpu_share"]),
                p["client"]["cpu_share"],
                cls="warn" if p["client"]["limited"] else None,
                title=p["client"]["warning"] or None,
            ),
            cell(
                "yes" if p["saturated"] else "no",
                int(bool(p["saturated"])),
                cls="warn" if p["saturated"] else None,
                title=p.get("saturation_reason") or None,
            ),
        ]
        if has_slo:
            slo = p.get("slo") or {}
            row[11:11] = [
                cell(fmt_rate(slo.get("goodput_rps")), slo.get("goodput_rps")),
                cell(
                    _pct((slo.get("share") or {}).get("all")),
                    (slo.get("share") or {}).get("all"),
                    cls="pass" if slo.get("meets") else "fail",
                ),
            ]
        rows.append(row)
    return Table(
        id="load-points",
        columns=columns,
        numeric=[False] + [True] * (len(columns) - 1),
        rows=rows,
        caption="One row per load point, in the order they ran; warm-up and cool-down requests excluded. "
        "Rates in requests/s; 'sent' is the client's achieved send rate, 'completed' the service's throughput.",
    )


def _formulas_table(formulas: Mapping[str, str]) -> Table:
    return Table(
        id="load-formulas",
        columns=["metric", "formula"],
        numeric=[False, False],
        rows=[[cell(name), cell(text)] for name, text in formulas.items()],
        caption="How each metric is computed (TTFT, ITL and TPOT differ between tools).",
        sortable=False,
    )


def load_section(summary: Mapping[str, Any]) -> Section | None:
    """The load-sweep section, or None when the run has no load points."""
    load = summary.get("load")
    if not isinstance(load, Mapping) or not load.get("points"):
        return None
    points: list[Mapping[str, Any]] = list(load["points"])
    knee = load.get("knee_rps")
    knee = float(knee) if isinstance(knee, int | float) else None
    slo = load.get("slo") if isinstance(load.get("slo"), Mapping) else None
    figures = [
        Figure(
            title="Latency against achieved rate",
            svg=latency_vs_rate(points, knee, slo),
            wide=True,
            caption="p50 solid, p95 dashed, p99 dotted; coloured from the send, grey from the schedule "
            "(the gap is time queued in the client). Red: the saturation knee; green: the SLO.",
        ),
        Figure(
            title="Throughput against offered rate",
            svg=throughput_vs_offered(points, knee),
            caption="Below the knee completions follow the offered rate; past it they flatten.",
        ),
    ]
    if slo is not None:
        figures.append(
            Figure(
                title="SLO attainment",
                svg=slo_vs_rate(points, slo, knee),
                caption=str(slo.get("max_rate_method") or ""),
            )
        )
    notes = []
    if knee is not None:
        notes.append(f"Saturation knee: {fmt_rate(knee)} (the completed rate of {load.get('knee_from')}).")
    if load.get("first_saturated"):
        notes.append(f"First saturated open-loop point: {load['first_saturated']}.")
    if load.get("stopped_early"):
        notes.append(f"The sweep stopped early: {load['stopped_early']}.")
    if slo is not None:
        best = slo.get("max_rate_at_slo")
        bound = " (at least: every point met it)" if slo.get("max_rate_is_lower_bound") else ""
        ci = f", 95% CI {fmt_rate(slo.get('max_rate_ci_low'))} – {fmt_rate(slo.get('max_rate_ci_high'))}"
        notes.append(
            f"Highest rate meeting the SLO at quantile {slo.get('quantile')}: {fmt_rate(best)}{bound}{ci}; "
            f"best goodput {fmt_rate(slo.get('goodput_rps'))}."
        )
    notes += [f"Warning: {w}" for w in load.get("warnings") or []]
    return Section(
        id="load",
        title="Load sweep",
        intro=f"{len(points)} load points ({load.get('profile')} profile), each run as its own phase.",
        figures=figures,
        tables=[_points_table(points, slo is not None), _formulas_table(load.get("formulas") or {})],
        notes=notes,
    )


def load_markdown(summary: Mapping[str, Any]) -> list[str]:
    """The Markdown summary's load-sweep lines (none without load points): one line for the sweep and
    one per point."""
    load = summary.get("load")
    if not isinstance(load, Mapping) or not load.get("points"):
        return []
    slo = load.get("slo") if isinstance(load.get("slo"), Mapping) else None
    head = f"**Load sweep** ({len(load['points'])} points): knee {fmt_rate(load.get('knee_rps'))}"
    if slo is not None:
        head += (
            f" · max rate at SLO {fmt_rate(slo.get('max_rate_at_slo'))} "
            f"[{fmt_rate(slo.get('max_rate_ci_low'))}, {fmt_rate(slo.get('max_rate_ci_high'))}]"
            f" · best goodput {fmt_rate(slo.get('goodput_rps'))}"
        )
    lines = [head]
    if load.get("stopped_early"):
        lines.append(f"- stopped early: {load['stopped_early']}")
    for p in load["points"]:
        e2e = p["latency"]["e2e_s"]
        text = (
            f"- `{p['id']}`: completed {fmt_rate(p.get('throughput_rps'))}, p50/p95 e2e "
            f"{fmt_seconds(e2e.get('p50'))}/{fmt_seconds(e2e.get('p95'))}"
        )
        if p.get("slo"):
            text += f", meets SLO {_pct(p['slo']['share'].get('all'))}"
        if p.get("saturated"):
            text += " (saturated)"
        if p["client"].get("limited"):
            text += " (client-limited)"
        lines.append(text)
    return [*lines, ""]

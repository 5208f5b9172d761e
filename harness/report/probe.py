"""The report section of `harness probe`: the table of settings, tests, evidence and verdicts, as an HTML
fragment and as the self-contained report.html of a probe's run directory (no network, no external
assets). Reads probe.json and manifest.json through harness.rundir; computes no statistic.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1300px;
color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
.facts{color:#4a5568;margin:.2rem 0 1rem}.facts span{margin-right:1.4rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.4rem .55rem;
border-bottom:1px solid #e2e8f0}th{background:#f7fafc;font-weight:600}
td.code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px;color:#4a5568}
.v{display:inline-block;padding:.05rem .5rem;border-radius:.7rem;font-weight:600;font-size:12.5px}
.v-applied{background:#def7e5;color:#1b6b35}.v-ignored{background:#fde2e1;color:#9b1c1c}
.v-rejected{background:#fde8cc;color:#8a4b08}.v-inconclusive{background:#edf2f7;color:#4a5568}
.summary td{border:none;padding:.15rem .8rem .15rem 0}.guard{color:#9b1c1c;font-weight:600}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(verdict: str) -> str:
    return f'<span class="v v-{_e(verdict)}">{_e(verdict)}</span>'


def render_probe_section(probe: Mapping[str, Any]) -> str:
    """The probe's two tables (per setting, per test) as an HTML fragment."""
    settings: Mapping[str, str] = probe.get("settings") or {}
    guarded = set(probe.get("guarded_settings") or [])
    failing = set(probe.get("failing_settings") or [])
    rows = []
    for name, verdict in settings.items():
        mark = " <span class='guard'>(exit 1)</span>" if name in failing else ""
        used = "yes" if name in guarded else ("" if guarded else "–")
        rows.append(f"<tr><td>{_e(name)}</td><td>{_badge(verdict)}{mark}</td><td>{_e(used)}</td></tr>")
    parts = [
        '<section id="probe">',
        "<h2>Does each setting take effect?</h2>",
        '<table class="summary"><tr><th>setting</th><th>verdict</th><th>used by the suite</th></tr>',
        *rows,
        "</table>",
        "<h2>Tests</h2>",
        "<table><tr><th>setting</th><th>sent as</th><th>what was tested</th><th>evidence</th>"
        "<th>verdict</th><th>statistic</th></tr>",
    ]
    for v in probe.get("verdicts") or []:
        parts.append(
            f"<tr><td>{_e(v.get('setting'))}</td><td class='code'>{_e(v.get('sent_as', ''))}</td>"
            f"<td>{_e(v.get('test'))}</td><td>{_e(v.get('evidence'))}</td>"
            f"<td>{_badge(str(v.get('verdict')))}</td><td class='code'>{_e(v.get('statistic'))}</td></tr>"
        )
    parts += ["</table>", "</section>"]
    return "\n".join(parts)


def render_probe_page(probe: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    """A whole self-contained report.html for a probe run directory."""
    cost = probe.get("cost_usd")
    facts = [
        f"target <b>{_e(probe.get('target'))}</b> ({_e(probe.get('provider'))}, {_e(probe.get('protocol'))} protocol)",
        f"model {_e(probe.get('model'))}",
        f"card {_e(probe.get('card'))}",
        f"{_e(probe.get('trials'))} trials, {_e(probe.get('samples'))} seeds per comparison, α={_e(probe.get('alpha'))}",
        f"estimated ${float(probe.get('estimate_usd') or 0):.4f}"
        + (f", spent ${float(cost):.4f}" if isinstance(cost, int | float) else ""),
        f"status {_e(manifest.get('status', '?'))}, started {_e(manifest.get('started_at', '?'))}",
    ]
    failing = probe.get("failing_settings") or []
    headline = (
        f"<p class='guard'>Not honoured: {_e(', '.join(failing))}</p>"
        if failing
        else "<p>Every guarded setting is honoured or inconclusive.</p>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>probe: {_e(probe.get('target'))}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Probe of {_e(probe.get('target'))}</h1>"
        f"<div class='facts'>{''.join(f'<span>{f}</span>' for f in facts)}</div>"
        f"{headline}{render_probe_section(probe)}</body></html>\n"
    )


def write_probe_report(run_dir: Path) -> Path:
    """Write report.html of a probe run directory from its probe.json and manifest; returns its path."""
    from harness.rundir import RunDir, read_manifest, read_probe

    page = render_probe_page(read_probe(run_dir), read_manifest(run_dir))
    return RunDir(run_dir).write_report(page)

"""Turns a run directory into report.html: builds the report context from the run's files and renders
it with a sandboxed, autoescaping, strict jinja2 environment. Owns the template and the page's
Content-Security-Policy; it reads the run directory and writes nothing itself.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.report.cells import cell_refs
from harness.report.context import ReportContext

if TYPE_CHECKING:
    from jinja2 import Template

    from harness.report.rundata import RunFiles

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"
SCRIPT = "report.js"


def build_context(
    files: RunFiles,
    *,
    comparison: Mapping[str, Any] | None = None,
    max_items: int | None = None,
    jobs: int = 1,
) -> ReportContext:
    """Everything the page shows, formatted; figures already drawn (with jobs=2, the performance
    figures in a forked process while this one draws the quality ones: the same page, sooner)."""
    from harness.report import charts, perf_charts, sections
    from harness.report.comparison import comparison_section
    from harness.report.items import items_section
    from harness.report.parallel import run_split

    summary = files.summary
    refs = cell_refs(summary)
    header = sections.build_header(
        files.manifest, summary, n_records=len(files.records), skipped=files.skipped_lines
    )
    # Two groups of about equal drawing time on runs big and small.
    parts = run_split(
        [lambda: charts.sweep_section(files, refs), lambda: charts.tradeoff_section(files, refs)],
        [
            lambda: perf_charts.latency_section(files, refs),
            lambda: perf_charts.money_section(files, refs),
            lambda: perf_charts.reliability_section(files, refs),
        ],
        jobs=jobs,
    )
    from harness.report.load_section import load_section

    load = load_section(summary)  # load sweeps only
    if load is not None:
        parts.insert(0, load)
    from harness.report.power_view import power_view_section

    power = power_view_section(summary, refs)
    if power is not None:
        parts.insert(0, power)
    if comparison:
        parts.append(comparison_section(comparison, refs))
    return ReportContext(
        title=header.title,
        header=header,
        verdict=sections.build_verdict(summary, refs, files.manifest),
        cells=sections.cell_table(summary, refs),
        sections=parts,
        items=items_section(files, refs, max_items=max_items),
    )


@lru_cache(maxsize=1)
def _template() -> Template:
    from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(TEMPLATE)


@lru_cache(maxsize=1)
def page_script() -> str:
    """The page's only script (table sorting, item filters), read from templates/report.js."""
    return (TEMPLATE_DIR / SCRIPT).read_text(encoding="utf-8").strip()


def content_security_policy(script: str) -> str:
    """Allows inline styles and exactly one script, by hash: no request can leave the page, and a
    script that reached the markup from the data could not run even if escaping failed."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def render_html(context: ReportContext) -> str:
    from markupsafe import Markup

    script = page_script()
    return _template().render(ctx=context, script=Markup(script), csp=content_security_policy(script))

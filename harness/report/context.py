"""The report context: the typed, already-formatted values the HTML template shows. Owns the shapes
only (pydantic, frozen); `sections.py`, `charts.py` and `items.py` fill them from a run directory.

Every string here is plain text that the template escapes, except `Figure.svg`, which is made by
`canvas.to_svg` from matplotlib output and is the only thing the template marks safe.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TableCell(_Model):
    text: str
    sort: float | str | None = None  # what the sorting script compares (numbers sort as numbers)
    color: str | None = None  # a swatch before the text: the cell's colour in every figure
    cls: str | None = None  # "pass" | "fail" | "warn" | "muted"
    title: str | None = None  # hover text, e.g. the full cell id
    breaks: bool = False  # a cell id: allow line breaks after its commas


class Table(_Model):
    id: str
    columns: list[str]
    numeric: list[bool]  # right-aligned columns
    rows: list[list[TableCell]]
    caption: str = ""
    sortable: bool = True


class Figure(_Model):
    title: str
    svg: str
    caption: str = ""
    wide: bool = False


class Fact(_Model):
    label: str
    value: str


class Header(_Model):
    title: str
    description: str | None
    facts: list[Fact]
    command: str | None
    notes: list[str]


class Verdict(_Model):
    passed: bool | None  # None: the suite has no thresholds
    headline: str
    lines: list[str]
    thresholds: Table | None


class Section(_Model):
    id: str
    title: str
    intro: str = ""
    figures: list[Figure] = []
    tables: list[Table] = []
    notes: list[str] = []


class ResultView(_Model):
    cell_tag: str
    cell_id: str
    cell_label: str
    color: str
    repeat: int
    index: int
    status: str
    outcome: str
    score: str
    extracted: str
    text: str
    text_cut: int  # characters left out of `text`
    reasoning: str
    reasoning_cut: int
    latency: str
    cost: str
    error: str


class ItemView(_Model):
    item_id: str
    prompt: str | None
    gold: str
    choices: list[str]
    wrong: bool
    changed: bool
    error: bool
    tally: str  # e.g. "3 of 5 results correct"
    results: list[ResultView]


class ItemsSection(_Model):
    items: list[ItemView]
    prompt_template: str | None  # the suite's prompt, when records carry no rendered prompt
    total: int
    left_out: int
    max_items: int
    n_wrong: int
    n_changed: int
    n_error: int
    notes: list[str]


class ReportContext(_Model):
    title: str
    header: Header
    verdict: Verdict
    cells: Table
    sections: list[Section]
    items: ItemsSection

"""pydantic models of a suite's `dataset:` section: where rows come from and how their columns map onto
an item. Pure declarations and their cross-field checks; reading files is `readers.py`'s job.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LocalFormat = Literal["jsonl", "json", "csv", "tsv", "parquet", "arrow"]
TargetFormat = Literal["raw", "letter", "index"]

DEFAULT_MAX_MEDIA_BYTES = 20 * 1024 * 1024


class _Config(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class HubSpec(_Config):
    """A data set on the Hugging Face Hub, loaded with datasets.load_dataset (needs network or a warm cache)."""

    path: str = Field(
        min_length=1,
        description="Hub data set id, e.g. openai/gsm8k (a local folder of data files also works).",
    )
    name: str | None = Field(
        default=None, description="Configuration (subset) name, e.g. main for openai/gsm8k."
    )
    split: str | None = Field(
        default=None, description="Split to load, e.g. test; the dataset's `split` is used when omitted."
    )
    revision: str | None = Field(
        default=None, description="Commit sha, branch or tag to pin; pin it for reproducible runs."
    )


class FieldMap(_Config):
    """Which column feeds each part of an item. A name is a column, or a dotted path into a nested one
    (`choices.text`, `question.stem`, `choices.0`); a path through a list of objects collects that key from each."""

    input: str | None = Field(
        default=None,
        description="Column with the prompt text, exposed to templates as `input`; when omitted the template uses the row's own columns.",
    )
    target: str | None = Field(
        default=None,
        description="Column with the reference answer the scorers compare against; omit for pure load tests.",
    )
    choices: str | list[str] | None = Field(
        default=None,
        description="Multiple-choice options: one list column (e.g. choices or choices.text), or a list of columns, one per option (e.g. [A, B, C, D]).",
    )
    labels: str | None = Field(
        default=None,
        description="Column with the options' labels (e.g. choices.label, ['1','2','3','4']); lets target_format turn a label into a letter.",
    )
    id: str | None = Field(
        default=None,
        description="Column with a unique, stable row id; when omitted the id is a 16-hex-digit hash of the whole row.",
    )
    images: str | None = Field(
        default=None,
        description="Column with an image (or a list of them) sent as inputs.images: http(s) URLs and data URIs pass through, local paths become data URIs.",
    )
    videos: str | None = Field(
        default=None,
        description="Column with a video (or a list of them) sent as inputs.videos, handled like images.",
    )


class SampleConfig(_Config):
    """A seeded random subset: the same seed gives the same rows, and a larger n keeps every row of a smaller one."""

    n: int = Field(ge=1, description="Rows to draw (after filters); more than the rows left is an error.")
    seed: int = Field(default=0, description="Seed of the draw.")


class FilterConfig(_Config):
    """Keep only the rows whose `field` satisfies exactly one of equals / not_equals / in / not_in.
    A CSV cell "3" matches the YAML number 3."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", populate_by_name=True)

    field: str = Field(min_length=1, description="Column (or dotted path) to test.")
    equals: Any = Field(default=None, description="Keep rows whose value equals this.")
    not_equals: Any = Field(default=None, description="Keep rows whose value differs from this.")
    in_: list[Any] | None = Field(
        default=None, alias="in", description="Keep rows whose value is one of these."
    )
    not_in: list[Any] | None = Field(default=None, description="Keep rows whose value is none of these.")

    @model_validator(mode="after")
    def _one_operator(self) -> FilterConfig:
        given = self.operators()
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of equals, not_equals, in, not_in (got {', '.join(given) or 'none'})"
            )
        return self

    def operators(self) -> list[str]:
        """The operators set in the file (`equals: null` counts as set)."""
        names = {"equals": "equals", "not_equals": "not_equals", "in_": "in", "not_in": "not_in"}
        return [names[key] for key in names if key in self.model_fields_set]


class FewShotConfig(_Config):
    """Where few-shot examples come from: another file (`path`), another hub data set (`hf`), or, with
    neither, the main data set (another `split` of it, or the same rows minus the evaluated ones)."""

    path: str | None = Field(
        default=None, description="Local file or Arrow directory, relative to the suite file."
    )
    hf: HubSpec | None = Field(default=None, description="Hub data set to draw from.")
    split: str | None = Field(
        default=None, description="Split to draw from (hub data sets and Arrow directories with splits)."
    )
    format: LocalFormat | None = Field(
        default=None, description="File format when the extension does not tell."
    )
    n: int = Field(ge=1, le=256, description="Number of examples.")
    seed: int = Field(default=0, description="Seed of the draw.")
    fields: FieldMap | None = Field(
        default=None, description="Column mapping of the few-shot source; the main data set's when omitted."
    )
    filters: list[FilterConfig] = Field(
        default_factory=list, description="Filters applied to the few-shot source before the draw."
    )

    @model_validator(mode="after")
    def _one_source(self) -> FewShotConfig:
        if self.path is not None and self.hf is not None:
            raise ValueError("give either path or hf, not both")
        return self


class DatasetConfig(_Config):
    """The `dataset:` section of a suite: a local file or a hub data set, its column mapping and selection.
    Rows are filtered, then sampled, then cut to `limit`, keeping their file order."""

    path: str | None = Field(
        default=None,
        description="Local JSONL / JSON / CSV / TSV (optionally .gz, .bz2, .xz), Parquet or Arrow file, or a datasets save_to_disk directory; relative to the suite file.",
    )
    hf: HubSpec | None = Field(
        default=None, description="Hugging Face Hub data set (online, or offline with a warm cache)."
    )
    split: str | None = Field(
        default=None,
        description="Split for hub data sets and Arrow directories holding several splits; ignored for single files.",
    )
    format: LocalFormat | None = Field(
        default=None, description="File format when the extension does not tell."
    )
    fields: FieldMap = Field(default_factory=FieldMap, description="Which column feeds each part of an item.")
    target_format: TargetFormat = Field(
        default="raw",
        description="raw: the target column as it is; letter / index: a multiple-choice answer (letter, 0-based index, label or option text) turned into A, B, ... or 0, 1, ..., checked against the choices.",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description="Keep at most this many rows (after filters and sample), from the top.",
    )
    sample: SampleConfig | None = Field(
        default=None, description="Seeded random subset, drawn after filters."
    )
    filters: list[FilterConfig] = Field(
        default_factory=list, description="Row filters, all of which must hold."
    )
    few_shot: FewShotConfig | None = Field(
        default=None, description="Source of few-shot examples for the prompt."
    )
    max_media_bytes: int = Field(
        default=DEFAULT_MAX_MEDIA_BYTES,
        ge=1,
        description="Largest local image or video file sent as a data URI, in bytes (checked before reading it).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if (self.path is None) == (self.hf is None):
            raise ValueError("give exactly one of path (a local file) or hf (a hub data set)")
        if self.hf is not None and self.hf.split is None and self.split is None:
            raise ValueError("a hub data set needs a split: set hf.split or split (e.g. test)")
        if self.target_format != "raw" and self.fields.choices is None:
            raise ValueError(
                f"target_format {self.target_format} needs fields.choices to check the answer against"
            )
        return self

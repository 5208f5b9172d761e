"""The judge's prompt: the rubric template (sandboxed jinja2, checked when the scorer is built) with its
default wording and reply-format instructions, and the questions recovered from a run's own data set.
Must not send anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError, ScoringError

VARIABLES = ("question", "reference", "answer", "choices", "item_id", "format_instructions")
_FILE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".txt", ".md")

DEFAULT_RUBRIC = """\
You are grading an answer to a question against a reference answer. Judge only whether the answer's \
final result agrees with the reference; ignore style, length and the way it was reached.

Question:
{{ question }}
{% if choices %}
Options:
{% for choice in choices %}{{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[loop.index0] }}) {{ choice }}
{% endfor %}{% endif %}
Reference answer:
{{ reference }}

Answer to grade:
{{ answer }}

{{ format_instructions }}
"""

BINARY_FORMAT = (
    'Write one or two sentences of justification, then a last line that is exactly "VERDICT: CORRECT" '
    'or "VERDICT: INCORRECT".'
)


def score_format(scale: int) -> str:
    return (
        f'Write one or two sentences of justification, then a last line of the form "SCORE: k" where k is '
        f"an integer from 0 (completely wrong) to {scale} (fully correct)."
    )


@dataclass(frozen=True, slots=True)
class JudgeRubric:
    """A compiled rubric: its source (part of the judge calls' identity) and what it needs."""

    source: str
    system: str | None
    format_instructions: str
    needs_question: bool
    template: Any

    @classmethod
    def build(cls, rubric: str | None, *, system: str | None, scale: int | None) -> JudgeRubric:
        """Compile a rubric (inline text or a template file), or raise ConfigError naming the option."""
        import jinja2
        from jinja2 import meta
        from jinja2.sandbox import SandboxedEnvironment

        source = _read_rubric(rubric) if rubric is not None else DEFAULT_RUBRIC
        env = SandboxedEnvironment(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        try:
            used = meta.find_undeclared_variables(env.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"rubric template line {exc.lineno}: {exc.message}", field="options.rubric"
            ) from exc
        unknown = sorted(used - set(VARIABLES))
        if unknown:
            raise ConfigError(
                f"rubric uses unknown variable {unknown[0]!r}",
                field="options.rubric",
                allowed=list(VARIABLES),
            )
        if "format_instructions" not in used:
            source = source.rstrip("\n") + "\n\n{{ format_instructions }}\n"
        return cls(
            source=source,
            system=system,
            format_instructions=BINARY_FORMAT if scale is None else score_format(scale),
            needs_question="question" in used,
            template=env.from_string(source),
        )

    def render(self, *, question: str, reference: Any, answer: str, choices: Any, item_id: str) -> str:
        try:
            text: str = self.template.render(
                question=question,
                reference="" if reference is None else reference,
                answer=answer,
                choices=choices or [],
                item_id=item_id,
                format_instructions=self.format_instructions,
            )
        except Exception as exc:
            raise ScoringError(f"judge: the rubric failed on item {item_id!r}: {exc}") from exc
        return text


def _read_rubric(rubric: str) -> str:
    if "\n" not in rubric and rubric.endswith(_FILE_SUFFIXES):
        path = Path(rubric)
        if not path.is_absolute() and not path.exists():
            from harness.paths import project_root

            path = project_root() / rubric
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read rubric file {rubric!r} ({exc})", field="options.rubric") from exc
    if not rubric.strip():
        raise ConfigError("rubric is empty", field="options.rubric")
    return rubric


def load_questions(run_dir: Path) -> dict[str, str]:
    """item id -> question text, from the data set named by the run's manifest (suite and suite_file)."""
    from harness.config import SuiteConfig
    from harness.datasets import load_items
    from harness.errors import StoreError
    from harness.rundir import RunDir

    where = RunDir(run_dir)
    try:
        manifest = where.manifest()
        suite = SuiteConfig.model_validate(manifest.suite)
    except (StoreError, ValueError, TypeError) as exc:
        raise ScoringError(
            f"judge: cannot recover the questions: {where.manifest_path} has no usable suite ({exc})"
        ) from exc
    suite_file = manifest.suite_file
    base_dir = Path(suite_file).parent if suite_file else Path(run_dir)
    if not base_dir.is_absolute() and not base_dir.exists():
        from harness.paths import project_root

        base_dir = project_root() / base_dir
    try:
        items = load_items(suite.dataset, base_dir=base_dir)
    except HarnessError as exc:
        raise ScoringError(f"judge: cannot recover the questions from the run's data set: {exc}") from exc
    return {item.id: item.input for item in items}

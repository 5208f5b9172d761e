"""Prompt rendering: fields, system prompt, multi-turn, few-shot, and errors that name template, line and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.config import PromptConfig
from harness.errors import ConfigError
from harness.prompts import PromptRenderer, item_context
from harness.records import Message


@dataclass(frozen=True)
class Row:
    id: str
    input: str = ""
    target: Any = None
    choices: list[str] | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def prompt(**data: Any) -> PromptConfig:
    return PromptConfig.model_validate(data)


def test_default_template_sends_input() -> None:
    got = PromptRenderer(prompt()).render(Row("a", input="What is 2+2?"))
    assert got.system_prompt is None
    assert got.messages == (Message("user", "What is 2+2?"),)


def test_template_over_row_fields_and_system() -> None:
    renderer = PromptRenderer(prompt(system="You grade {{ subject }}.", template="Q: {{ question }}\nA:"))
    got = renderer.render(Row("a", fields={"question": "Why?", "subject": "physics"}))
    assert got.system_prompt == "You grade physics."
    assert got.messages == (Message("user", "Q: Why?\nA:"),)


def test_choices_with_letters() -> None:
    template = (
        "{{ question }}\n{% for c in choices %}{{ letters[loop.index0] }}. {{ c }}\n{% endfor %}Answer:"
    )
    got = PromptRenderer(prompt(template=template)).render(
        Row("a", choices=["x", "y"], fields={"question": "Pick"})
    )
    assert got.messages[0].content == "Pick\nA. x\nB. y\nAnswer:"


def test_item_context_puts_item_fields_over_row_columns() -> None:
    context = item_context(Row("a", input="in", target="t", fields={"input": "raw", "other": 1}))
    assert (context["input"], context["target"], context["other"], context["id"]) == ("in", "t", 1, "a")


def test_multi_turn_messages() -> None:
    p = prompt(
        messages=[
            {"role": "user", "content": "Name a moon of {{ planet }}."},
            {"role": "assistant", "content": "Phobos."},
            {"role": "user", "content": "Another?"},
        ]
    )
    got = PromptRenderer(p).render(Row("a", fields={"planet": "Mars"}))
    assert [m.role for m in got.messages] == ["user", "assistant", "user"]
    assert got.messages[0].content == "Name a moon of Mars."


def test_few_shot_examples_come_first() -> None:
    examples = [Row("e1", input="1+1", target="2"), Row("e2", input="2+2", target="4")]
    renderer = PromptRenderer(
        prompt(template="Q: {{ input }}", example_answer="A: {{ target }}"), examples=examples
    )
    got = renderer.render(Row("a", input="3+3"))
    assert got.messages == (
        Message("user", "Q: 1+1"),
        Message("assistant", "A: 2"),
        Message("user", "Q: 2+2"),
        Message("assistant", "A: 4"),
        Message("user", "Q: 3+3"),
    )


def test_few_shot_example_template_differs() -> None:
    renderer = PromptRenderer(
        prompt(template="Q: {{ input }}", example_template="Example: {{ input }}"),
        examples=[Row("e", input="x", target="y")],
    )
    assert renderer.render(Row("a", input="z")).messages[0].content == "Example: x"


def test_missing_field_names_template_line_field_and_row() -> None:
    renderer = PromptRenderer(
        prompt(template="Question:\n{{ question }}\n{{ context }}"),
        file="suites/x.yaml",
        lines={"prompt.template": 7},
    )
    with pytest.raises(ConfigError) as info:
        renderer.render(Row("item-3", fields={"question": "q"}), row=3)
    err = info.value
    assert (err.file, err.field, err.line) == ("suites/x.yaml", "prompt.template", 7)
    assert "line 3 of the template" in err.message
    assert "row 3 (id 'item-3')" in err.message
    assert "field 'context' is missing" in err.message
    assert "question" in err.message  # the fields the row does have


def test_missing_attribute_is_named() -> None:
    renderer = PromptRenderer(prompt(template="{{ meta.topic }}"))
    with pytest.raises(ConfigError, match="field 'topic' is missing"):
        renderer.render(Row("a", fields={"meta": {}}))


def test_undefined_in_condition_is_an_error() -> None:
    renderer = PromptRenderer(prompt(template="{% if hint %}{{ hint }}{% endif %}{{ input }}"))
    with pytest.raises(ConfigError, match="'hint'"):
        renderer.render(Row("a", input="x"))


def test_syntax_error_names_template_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        PromptRenderer(prompt(system="ok", template="line one\n{{ input "), file="s.yaml")
    assert info.value.field == "prompt.template"
    assert "line 2 of the template: template syntax error" in info.value.message


def test_error_in_a_message_template_names_its_index() -> None:
    p = prompt(
        messages=[
            {"role": "user", "content": "{{ input }}"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "{{ nope }}"},
        ]
    )
    with pytest.raises(ConfigError) as info:
        PromptRenderer(p).render(Row("a", input="x"))
    assert info.value.field == "prompt.messages[2].content"


def test_few_shot_error_names_the_example() -> None:
    renderer = PromptRenderer(prompt(template="{{ question }}"), examples=[Row("ex-9", fields={})])
    with pytest.raises(ConfigError, match="few-shot example 'ex-9'"):
        renderer.render(Row("a", fields={"question": "q"}))


def test_sandbox_blocks_unsafe_attributes() -> None:
    renderer = PromptRenderer(prompt(template="{{ input.__class__.__mro__ }}"))
    with pytest.raises(ConfigError):
        renderer.render(Row("a", input="x"))


def test_sandbox_is_immutable() -> None:
    renderer = PromptRenderer(prompt(template="{% set _ = choices.append('z') %}{{ choices }}"))
    with pytest.raises(ConfigError):
        renderer.render(Row("a", choices=["x"]))


def test_empty_user_message_is_an_error() -> None:
    with pytest.raises(ConfigError, match="renders to an empty message"):
        PromptRenderer(prompt(template="{{ input }}")).render(Row("a", input="  "), row=0)


def test_empty_system_prompt_is_omitted() -> None:
    got = PromptRenderer(prompt(system="{{ hint }}")).render(Row("a", input="x", fields={"hint": ""}))
    assert got.system_prompt is None

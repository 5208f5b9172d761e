"""build_record (every field lands where the schema says) and the client-side token count that the
records writer fills just before a batch is written."""

from __future__ import annotations

import dataclasses
import random

from harness.config import PriceConfig, RetryConfig
from harness.errors import ServerError
from harness.providers import TaskOutcome
from harness.records import Message, Record, Result, Trial, Usage
from harness.runner.execute import Lane, TrialState, build_record, count_client_tokens
from harness.runner.ratelimit import AdaptiveLimit
from harness.runner.retry import RetryPolicy
from harness.tokens import _tokenizer, count_output_tokens


class _Provider:
    name = "p"
    max_batch = 1
    delivery = "stream"


async def _pause(seconds: float) -> bool:
    return False


def lane(prices: PriceConfig | None = None) -> Lane:
    return Lane(
        provider=_Provider(),  # type: ignore[arg-type]
        limiter=AdaptiveLimit(4, clock=lambda: 0.0),
        policy=RetryPolicy(RetryConfig()),
        now=lambda: 9.0,
        finish=lambda record: None,
        pause=_pause,
        on_retry=lambda trial, error, wait: None,
        on_first_send=lambda t: None,
        prices=prices,
    )


TRIAL = Trial(
    key="k1",
    cell_id="temperature=0.6",
    cell={"temperature": 0.6},
    item_id="item-7",
    repeat=2,
    target="sim",
    model="alibaba:qwen@3.5-397b",
    messages=(Message("user", "What is 2 + 2?"),),
    system_prompt="Be brief.",
    seed=11,
    number_results=1,
    reference="4",
    choices=["3", "4"],
)


def state() -> TrialState:
    s = TrialState(
        scheduled_at=1.0, attempts=2, first_sent_at=1.5, retry_wait_s=0.25, rate_limit_wait_s=0.125
    )
    return s


def test_every_field_of_a_success_is_where_the_schema_says() -> None:
    outcome = TaskOutcome(
        "uuid-1",
        2.0,
        3.0,
        [Result("4", "2+2", "stop", 11)],
        usage=Usage(10, 20, 5, 30),
        cost_usd=0.5,
        first_byte_at_s=2.1,
        first_token_at_s=2.2,
        first_answer_token_at_s=2.3,
        itl_s=[0.01, 0.02],
    )
    prices = PriceConfig(prompt_per_mtok=1.0, completion_per_mtok=2.0, thinking_per_mtok=4.0)
    record = build_record(lane(prices), TRIAL, state(), outcome, None, 1.9, 3.5)
    assert dataclasses.asdict(record) == {
        "trial_key": "k1",
        "cell_id": "temperature=0.6",
        "cell": {"temperature": 0.6},
        "item_id": "item-7",
        "repeat": 2,
        "seed": 11,
        "target": "sim",
        "model": "alibaba:qwen@3.5-397b",
        "delivery": "stream",
        "status": "ok",
        "timing": {
            "scheduled_at_s": 1.0,
            "sent_at_s": 2.0,
            "first_byte_at_s": 2.1,
            "first_token_at_s": 2.2,
            "first_answer_token_at_s": 2.3,
            "done_at_s": 3.0,
            "first_sent_at_s": 1.5,
        },
        "results": [{"text": "4", "reasoning": "2+2", "finish_reason": "stop", "seed": 11}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "thinking_tokens": 5, "total_tokens": 30},
        "cost_usd": 0.5,
        "price_table_cost_usd": (10 * 1.0 + 15 * 2.0 + 5 * 4.0) / 1e6,
        "attempts": 2,
        "retry_wait_s": 0.25,
        "rate_limit_wait_s": 0.125,
        "itl_s": [0.01, 0.02],
        "client_completion_tokens": None,
        "error": None,
        "number_results": 1,
        "reference": "4",
        "choices": ["3", "4"],
        "task_uuid": "uuid-1",
        "system_prompt": "Be brief.",
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        "earlier_task_uuids": None,
        "load_point": None,
        "load_window": None,
        "schema": 1,
    }


def test_a_load_trial_tags_its_record_with_its_load_point_and_window() -> None:
    trial = dataclasses.replace(TRIAL, load_point="rate=2", load_window="warmup")
    outcome = TaskOutcome("uuid-2", 2.0, 3.0, [Result("4", None, "stop", 11)])
    record = build_record(lane(None), trial, state(), outcome, None, 1.9, 3.5)
    assert (record.load_point, record.load_window) == ("rate=2", "warmup")


def test_a_whole_request_failure_keeps_send_and_end_times() -> None:
    record = build_record(lane(), TRIAL, state(), None, ServerError("HTTP 503", status=503), 1.9, 3.5)
    assert record.status == "error"
    assert (record.timing.sent_at_s, record.timing.done_at_s, record.timing.first_byte_at_s) == (
        1.9,
        3.5,
        None,
    )
    assert record.error is not None
    assert (record.error.kind, record.error.status, record.error.failure) == ("server", 503, "transient")
    assert (record.results, record.usage, record.price_table_cost_usd, record.task_uuid) == (
        [],
        None,
        None,
        None,
    )
    assert record.messages == [{"role": "user", "content": "What is 2 + 2?"}]


def test_client_tokens_count_text_and_reasoning_of_every_successful_result() -> None:
    ok = build_record(
        lane(),
        TRIAL,
        state(),
        TaskOutcome("u", 2.0, 3.0, [Result("abcd", "efgh"), Result("ij")]),
        None,
        1.9,
        3.5,
    )
    failed = build_record(lane(), TRIAL, state(), None, ServerError("x"), 1.9, 3.5)
    count_client_tokens([ok, failed], len)
    assert ok.client_completion_tokens == 10
    assert failed.client_completion_tokens is None


def test_client_tokens_are_not_counted_when_the_service_reported_usage() -> None:
    reported = build_record(
        lane(),
        TRIAL,
        state(),
        TaskOutcome("u", 2.0, 3.0, [Result("abcd", "efgh")], usage=Usage(3, 2, 1, 5)),
        None,
        1.9,
        3.5,
    )

    def count(text: str) -> int:
        raise AssertionError(f"counted {text!r} although the service reported usage")

    count_client_tokens([reported], count)
    assert reported.client_completion_tokens is None


def test_output_counts_match_the_tokenizer_with_special_tokens_allowed() -> None:
    tok = _tokenizer()
    rng = random.Random(3)
    texts = ["", "Hello world", "cafe\u0301 x", "a <think>b</think> <|im_end|>", "中文 😀 text\n\n  y"]
    texts += [
        "".join(rng.choice("ab c\n\té中😀<|>09.,") for _ in range(rng.randint(0, 50))) for _ in range(300)
    ]
    for text in texts:
        expected = len(tok.encode(text)) if tok is not None else (len(text) + 3) // 4
        assert count_output_tokens(text) == expected, text


def test_record_fields_are_in_the_order_build_record_passes_them() -> None:
    # build_record passes Record and Timing fields by position (it runs once per request); a schema
    # change that reorders them must fail here rather than shift values silently.
    assert [f.name for f in dataclasses.fields(Record)][:27] == [
        "trial_key", "cell_id", "cell", "item_id", "repeat", "seed", "target", "model", "delivery",
        "status", "timing", "results", "usage", "cost_usd", "price_table_cost_usd", "attempts",
        "retry_wait_s", "rate_limit_wait_s", "itl_s", "client_completion_tokens", "error",
        "number_results", "reference", "choices", "task_uuid", "system_prompt", "messages",
    ]  # fmt: skip

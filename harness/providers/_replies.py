"""Reading Runware sync/async replies into TaskOutcomes: group items and errors by taskUUID, and fill
one task's outcome so that nothing paid for is lost (every well-formed result kept once, with its
usage and cost, whatever its siblings or the envelope hold; malformed results are errors that keep
what they reported as billed). Pure functions over parsed payloads; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import ProviderError
from harness.providers import MalformedResponseError, TaskOutcome
from harness.providers._http import error_from_item, error_items, has_bad_text
from harness.providers._wire import (
    add_cost,
    add_usage,
    is_error_item,
    negative,
    result_from_item,
    usage_from_runware,
)
from harness.records import Result, Trial, Usage

__all__ = ["collect_items", "fill_outcome", "item_problem", "keep_billing", "lacks_figures", "single_item"]


def single_item(payload: Any, task_uuid: str) -> Mapping[str, Any] | None:
    """The only item of a one-task sync reply `{"data": [item]}` without any error, else None (and
    `collect_items` sorts out whatever else the reply holds)."""
    if type(payload) is not dict or len(payload) != 1:
        return None
    data = payload.get("data")
    if type(data) is not list or len(data) != 1:
        return None
    item = data[0]
    if type(item) is not dict or item.get("taskUUID", task_uuid) != task_uuid or is_error_item(item):
        return None
    return item


def collect_items(
    payload: Any, uuids: list[str], *, secret: str | None
) -> dict[str, tuple[list[Mapping[str, Any]], ProviderError | None]]:
    """Group a sync/async reply's items and errors by taskUUID (items of a single-task request may
    omit it). An error without a taskUUID applies to every task that got no item."""
    if isinstance(payload, list):
        payload = {"data": payload}
    if not isinstance(payload, Mapping):
        raise MalformedResponseError(f"expected a JSON object, got {type(payload).__name__}")
    data = payload.get("data")
    if isinstance(data, Mapping):
        data = [data]
    found: dict[str, tuple[list[Mapping[str, Any]], ProviderError | None]] = {u: ([], None) for u in uuids}
    single = uuids[0] if len(uuids) == 1 else None
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, Mapping):
            continue
        task_uuid = item.get("taskUUID") or single
        if task_uuid not in found:
            continue
        items, error = found[task_uuid]
        if is_error_item(item):
            if error is None:
                found[task_uuid] = (
                    items,
                    error_from_item(item, status=None, retry_after_s=None, secret=secret),
                )
        else:
            items.append(item)
    loose: ProviderError | None = None
    for entry in error_items(payload):
        exc = error_from_item(entry, status=None, retry_after_s=None, secret=secret)
        task_uuid = entry.get("taskUUID")
        if task_uuid in found:
            items, error = found[task_uuid]
            found[task_uuid] = (items, error or exc)
        elif loose is None:
            loose = exc
    if loose is not None:
        for task_uuid, (items, error) in found.items():
            if not items and error is None:
                found[task_uuid] = (items, loose)
    return found


def item_problem(item: Mapping[str, Any], lenient: bool) -> str | None:
    """Why a result item must not count as an answer, or None."""
    if lenient and has_bad_text(item):
        return "invalid UTF-8 in the result"
    if negative(usage_from_runware(item.get("usage")), add_cost(None, item.get("cost"))):
        return "negative usage or cost"
    return None


def keep_billing(earlier: Mapping[str, Any] | None, item: Mapping[str, Any]) -> Mapping[str, Any]:
    """`item`, a later copy of a polled result, with the usage and cost of an `earlier` copy of the same
    result when it reports none itself. The service bills a result once, in the reply that first
    carried it: a first copy whose bytes were spoiled (billed all the same) and a whole copy that
    comes without usage must not leave the record without what was paid. A copy whose figures are
    negative reports nothing either, and is never the one kept here (it is polled again)."""
    if earlier is None or item_problem(earlier, lenient=False) is not None:
        return item
    missing = {k: earlier[k] for k in ("usage", "cost") if item.get(k) is None and earlier.get(k) is not None}
    return {**item, **missing} if missing else item


def lacks_figures(item: Mapping[str, Any]) -> bool:
    """A result item that reports neither usage nor cost (every task asks for usage)."""
    return item.get("usage") is None and item.get("cost") is None


def _distinct(items: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Items without repeats (a result sent twice under its taskUUID is one result, billed once)."""
    kept: list[Mapping[str, Any]] = []
    for item in items:
        if all(item != other for other in kept):
            kept.append(item)
    return kept


def fill_outcome(
    outcome: TaskOutcome,
    trial: Trial,
    items: list[Mapping[str, Any]],
    error: ProviderError | None,
    *,
    lenient: bool = False,
) -> None:
    """One task's outcome from its result items and error. Every result that came is kept with its
    usage and cost (they were paid for), even when an error accompanies it; a malformed item makes
    the outcome an error that still carries what was reported as billed."""
    if len(items) > trial.number_results:
        items = _distinct(items)[: trial.number_results]
    usage: Usage | None
    cost: float | None
    results: list[Result]
    if len(items) == 1:
        item = items[0]
        results = [result_from_item(item)]
        usage = usage_from_runware(item.get("usage"))
        cost = add_cost(None, item.get("cost"))
    else:
        usage = None
        cost = None
        results = []
        for item in items:
            results.append(result_from_item(item))
            usage = add_usage(usage, usage_from_runware(item.get("usage")))
            cost = add_cost(cost, item.get("cost"))
    problem = None
    if lenient and any(has_bad_text(item) for item in items):
        problem = "invalid UTF-8 in the result"
    if negative(usage, cost):
        problem = "negative usage or cost"
        usage = cost = None  # what was billed is unknown; a negative figure is no figure
    outcome.results = [] if problem else results
    outcome.usage = usage
    outcome.cost_usd = cost
    if problem is not None:
        outcome.error = MalformedResponseError(f"{problem} of task {outcome.task_uuid}")
    elif len(results) < trial.number_results:
        outcome.error = error or MalformedResponseError(
            f"reply held {len(results)} of {trial.number_results} results for task {outcome.task_uuid}"
        )

"""`harness simulator`: serve the Runware/OpenAI-compatible simulator in the foreground until SIGINT or
SIGTERM. Prints exactly one first line, `listening on http://HOST:PORT`, which SimulatorProcess reads.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8700, help="port to bind; 0 picks a free one (default 8700)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the fault draws and of seeds for seedless requests"
    )
    parser.add_argument(
        "--latency",
        default="ttft=0.25,tps=80,jitter=0.2",
        help="ttft=S,tps=N,jitter=F[,per_ktok=S,scale=F,ping=S], or 0 for no sleeps (default: %(default)s)",
    )
    parser.add_argument(
        "--faults",
        default=None,
        help="rates per request attempt: 429=0.05,500=0.02,503=0.01,timeout=0.01,drop_stream=0.02,bad_json=0.01[,retry_after=1,hang_s=600]",
    )
    parser.add_argument(
        "--capacity",
        default=None,
        help="server capacity: slots=N[,queue=M,full=503|429,batch=S] (default: unlimited; see docs/simulator.md)",
    )
    parser.add_argument(
        "--api-key", default=None, help="require this key (default: accept any non-empty key)"
    )
    parser.add_argument(
        "--skill", default=None, help="base=0.8 | fixed=0.7 | a YAML file (see docs/simulator.md)"
    )
    parser.add_argument(
        "--answer-key", default=None, help="JSON {question: gold} or JSONL rows {question, answer}"
    )
    parser.add_argument(
        "--card", default="qwen3.5-397b", help="capability card for requests naming no known model"
    )
    parser.add_argument(
        "--ignore-settings",
        default="",
        metavar="NAMES",
        help="settings (API names, e.g. minP,topK) to accept and validate but generate as if absent, "
        "as a provider that silently drops them would (what `harness probe` detects)",
    )


def main(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal

    from harness.runner import run_event_loop
    from harness.simulator import SimulatorOptions, serve_simulator

    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    options = SimulatorOptions(
        host=args.host,
        port=args.port,
        seed=args.seed,
        latency=args.latency,
        faults=args.faults,
        capacity=args.capacity,
        api_key=args.api_key,
        skill=args.skill,
        answer_key=args.answer_key,
        card=args.card,
        ignore_settings=args.ignore_settings,
    )

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with serve_simulator(options) as sim:
            print(f"listening on {sim.base_url}", flush=True)
            await stop.wait()

    run_event_loop(serve())
    return 0

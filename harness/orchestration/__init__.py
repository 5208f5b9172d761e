"""The orchestration layer: what `harness run` / `harness report` do end to end, in stages over plain
values. `suite` (validate, plan, start the targets, send through the runner, build the outputs, map
the outcome to an exit code: `run_suite`), `judge` (the judge stage: the calls a `judge` scorer needs,
sent as their own plan into RUN_DIR/judge/ before scoring), `endpoints` (a `provider: simulator`
target made a live endpoint, the one way for both). It owns sequencing only: no HTTP, scoring or
statistics; importing it is cheap (each stage imports what it uses when it runs).
"""

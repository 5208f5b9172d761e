"""qwen-harness: evaluate and benchmark LLM inference APIs (quality, latency, cost) across settings sweeps.

The public API is re-exported here lazily, so that `import harness` (and `harness --help`) stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

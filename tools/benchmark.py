"""Benchmark mmfish's backbones against every installed peer implementation, side by side
(``python tools/benchmark.py --help``; the code is :mod:`mmfish_tools.benchmark.cli`).

    python tools/benchmark.py                                 # every model, batch 8, 224
    python tools/benchmark.py --also nchw --json run.json --doc docs/benchmarks.md
    python tools/benchmark.py --device cuda --amp fp16 --batch 32 --peers-channels-last
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.benchmark.cli import main

if __name__ == '__main__':
    sys.exit(main())

"""The GPU check (``make gpu-check``): the GPU tests, then the GPU benchmark written to
docs/benchmarks.md. Without a CUDA device it says so and what it would run, and exits with 2.
The code is :mod:`mmfish_tools.benchmark.gpu_check`.

    python tools/gpu_check.py                    # everything, at most about 5 minutes
    python tools/gpu_check.py --skip-benchmark   # the GPU tests only
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.benchmark.gpu_check import main

if __name__ == '__main__':
    sys.exit(main())

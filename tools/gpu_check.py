"""The GPU check (``make gpu-check``): the GPU tests, then the GPU benchmark written to
docs/benchmarks.md. Without a CUDA device it says so and what it would run, and exits with 2.
The code is :mod:`mmfish.tooling.benchmark.gpu_check`.

    python tools/gpu_check.py                    # everything, at most about 5 minutes
    python tools/gpu_check.py --skip-benchmark   # the GPU tests only
"""
import sys

from mmfish.tooling.benchmark.gpu_check import main

if __name__ == '__main__':
    sys.exit(main())

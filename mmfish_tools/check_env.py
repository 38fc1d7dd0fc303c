"""Check that the OpenMMLab stack mmfish runs on imports, and that mmcv's ops were built for
this machine: ``python -m mmfish_tools.check_env`` (run at the end of ``make install``;
``--mmcv-only``: the mmcv check alone, the first step of ``make gpu-check``).

The mmcv check reports what mmcv was built with (CPU-only or CUDA; which CUDA; which GPU
architectures, read from the fat binaries in ``mmcv._ext``) against what the machine has (an
NVIDIA GPU and its compute capability), and names the one command that fixes a mismatch: a
CPU-only mmcv on a GPU machine is an error (a loud warning when ``--cuda 0`` asked for it).
The logic is :mod:`mmfish_tools.cuda_setup`.
"""
import argparse
import importlib
import subprocess
import sys
from typing import List, Optional, Sequence

from . import cuda_setup
from .mim_runs import MimError, mim_executable

MODULES = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmcv.ops', 'mmdet.models',
           'mmseg.models', 'mmpretrain.models', 'mmpose.models', 'xtcocotools.coco',
           'panopticapi.evaluation', 'mmfish')


def check_mmcv(cuda_flag: str = 'auto', probe: Optional[cuda_setup.GpuProbe] = None,
               out=None) -> List[str]:
    """Print what mmcv was built with against the machine; return the errors (each naming its
    fix)."""
    out = out or sys.stdout
    try:
        build = cuda_setup.inspect_mmcv()
    except Exception as exc:  # an mmcv that does not import is reported with the imports
        return [f'mmcv ops: {type(exc).__name__}: {exc}']
    if probe is None:
        probe = cuda_setup.probe_gpu()
    try:
        torch_cuda = cuda_setup.torch_cuda_version()
    except Exception:
        torch_cuda = None
    errors, notes = cuda_setup.compare(build, probe, cuda_flag, torch_cuda)
    for note in notes:
        print(f'  {note}', file=out)
    return errors


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m mmfish_tools.check_env',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--cuda', default='auto',
                        help='the CUDA= of make install: 0 makes a CPU-only mmcv on a GPU '
                             'machine a warning instead of an error')
    parser.add_argument('--mmcv-only', action='store_true',
                        help='only what mmcv was built with against this machine')
    args = parser.parse_args(argv)
    failed = []
    if not args.mmcv_only:
        for name in MODULES:
            try:
                module = importlib.import_module(name)
            except Exception as exc:  # report every failure, not only the first
                failed.append(f'{name}: {type(exc).__name__}: {exc}')
                continue
            version = getattr(module, '__version__', '')
            print(f'  {name:<18} {version}')
        try:
            mim = mim_executable()
        except MimError as exc:
            failed.append(str(exc))
        else:
            out = subprocess.run([mim, '--version'], capture_output=True, text=True)
            if out.returncode != 0:
                failed.append('mim --version: ' + out.stderr.strip().splitlines()[-1])
            else:
                print(f'  {"mim":<18} {out.stdout.strip()}')
    mmcv_errors = check_mmcv(args.cuda)
    if failed:
        print('The stack is incomplete:\n  ' + '\n  '.join(failed), file=sys.stderr)
    if mmcv_errors:
        print('mmcv does not fit this machine:\n  ' + '\n  '.join(mmcv_errors), file=sys.stderr)
    return 1 if failed or mmcv_errors else 0


if __name__ == '__main__':
    sys.exit(main())

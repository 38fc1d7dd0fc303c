"""Distributed training on CPUs: run a toolbox's own ``tools/train.py`` under ``torchrun``
with MMEngine's ``pytorch`` launcher and the ``gloo`` backend::

    torchrun --nproc_per_node 2 -m mmfish.engine.dist_train mmpretrain CONFIG \\
        --work-dir work_dirs/x [--cfg-options ...]

(any ``train.py`` argument; ``--launcher pytorch`` is added when missing). On GPUs use
``mim train <toolbox> CONFIG --launcher pytorch --gpus N``; this module then only runs
``train.py``.

Without GPUs, MMEngine 0.10.7 and torch 2.13 stop a plain
``torchrun <toolbox>/.mim/tools/train.py CONFIG --launcher pytorch`` three times, and this
module works around each, in its own process only:

1. ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` before
   ``init_process_group``, whatever the backend: ``RuntimeError: Found no NVIDIA driver on
   your system``. Here the ``gloo`` process group is created first (``env://``, from torchrun's
   variables); the Runner then sees it initialised and skips ``init_dist``.
2. ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to DistributedDataParallel, which
   refuses ``device_ids`` for a CPU module. Here ``MMDistributedDataParallel`` drops them when
   no GPU is available.
3. ``SyncBN`` (torch's ``SyncBatchNorm``): DistributedDataParallel refuses it in a CPU module
   (``ValueError: SyncBatchNorm layers only work with GPU modules``), its forward refuses CPU
   tensors (``SyncBatchNorm expected input tensor to be on GPU ...``), and mmcv's ``MMSyncBN``
   has CUDA kernels only. Here the name ``SyncBN`` builds :class:`mmfish.engine.SyncBatchNorm`
   (which synchronises CPU tensors with ``gloo``), so configs keep
   ``norm_cfg=dict(type='SyncBN')``.
"""
import os
import runpy
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import torch

TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')


def train_script(toolbox: str) -> str:
    """The ``tools/train.py`` that ``mim train <toolbox>`` runs (shipped in the package)."""
    import importlib.util
    spec = importlib.util.find_spec(toolbox)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f'{toolbox} is not installed')
    root = Path(list(spec.submodule_search_locations)[0])
    for script in (root / '.mim' / 'tools' / 'train.py', root / 'tools' / 'train.py'):
        if script.exists():
            return str(script)
    raise SystemExit(f'{toolbox} ships no tools/train.py')


def prepare_cpu_distributed() -> None:
    """Shims 1-3 of the module documentation, for a process started by torchrun on a machine
    without GPUs. Does nothing when a GPU is available."""
    if torch.cuda.is_available():
        return
    import mmcv.cnn  # noqa: F401  (registers mmcv's SyncBN first, replaced below)
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODELS

    from mmfish.engine import SyncBatchNorm

    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    MODELS.register_module('SyncBN', module=SyncBatchNorm, force=True)

    if not getattr(MMDistributedDataParallel, '_mmfish_cpu', False):
        init = MMDistributedDataParallel.__init__

        def __init__(self, module, detect_anomalous_params=False, **kwargs):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
            init(self, module, detect_anomalous_params, **kwargs)

        MMDistributedDataParallel.__init__ = __init__
        MMDistributedDataParallel._mmfish_cpu = True


def main(argv: Optional[Sequence[str]] = None) -> None:
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in TOOLBOXES:
        raise SystemExit('usage: torchrun --nproc_per_node N -m mmfish.engine.dist_train '
                         f'{{{",".join(TOOLBOXES)}}} CONFIG [train.py arguments]')
    if 'WORLD_SIZE' not in os.environ:
        raise SystemExit('run this module under torchrun (python -m torch.distributed.run)')
    toolbox, rest = args[0], args[1:]
    if '--launcher' not in rest:
        rest += ['--launcher', 'pytorch']
    if not torch.cuda.is_available():
        # what is actually used, also in the config that the work dir keeps
        backend = 'env_cfg.dist_cfg.backend=gloo'
        if '--cfg-options' in rest:  # the user's own options come after, and win
            rest.insert(rest.index('--cfg-options') + 1, backend)
        else:
            rest += ['--cfg-options', backend]
    prepare_cpu_distributed()
    if not torch.cuda.is_available() and int(os.environ.get('RANK', 0)) == 0:
        import torch.distributed as dist
        print(f'mmfish.engine.dist_train: {dist.get_world_size()} processes, backend '
              f'{dist.get_backend()}', flush=True)
    script = train_script(toolbox)
    sys.argv = [script, *rest]
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()

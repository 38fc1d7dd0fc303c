"""Check that the OpenMMLab stack mmfish runs on imports: ``python -m mmfish_tools.check_env``."""
import importlib
import subprocess
import sys

from .mim_runs import MimError, mim_executable

MODULES = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmcv.ops', 'mmdet.models',
           'mmseg.models', 'mmpretrain.models', 'mmpose.models', 'xtcocotools.coco',
           'panopticapi.evaluation', 'mmfish')


def main() -> int:
    failed = []
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
    if failed:
        print('The stack is incomplete:\n  ' + '\n  '.join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Check that training with a config survives a kill: train it through ``mim`` twice, once
uninterrupted and once SIGKILLed right after a checkpoint and resumed with ``--resume``, and
compare the final checkpoints tensor by tensor.

    python tools/check_resume.py {mmdet,mmseg,mmpretrain} CONFIG [--iters 6] [--interval 2] \\
        [--kill-at 2] [--root work_dirs/resume_check] [--cfg-options KEY=VALUE ...]

Both runs get the same ``--cfg-options``: ``--iters`` iterations (iteration-based configs), a
checkpoint every ``--interval``, no validation, and yours. The exit status is 0 when the final
weights and buffers are bit-identical. For that the config needs a fixed seed, deterministic
kernels and ``mmfish.StepSeedHook`` (the tiny twins have them; see docs/training.md).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.resume_check import check_resume


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('toolbox', choices=['mmdet', 'mmseg', 'mmpretrain'])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=6)
    parser.add_argument('--interval', type=int, default=2)
    parser.add_argument('--kill-at', type=int, default=2,
                        help='kill once a checkpoint of this iteration or later is saved')
    parser.add_argument('--root', default='work_dirs/resume_check')
    parser.add_argument('--cfg-options', nargs='*', default=[])
    args = parser.parse_args()
    if not 0 < args.kill_at < args.iters:
        parser.error('--kill-at must be between 0 and --iters')
    options = [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_begin={args.iters + 1}',
               f'default_hooks.checkpoint.interval={args.interval}', *args.cfg_options]
    result = check_resume(args.toolbox, args.config, args.root, args.kill_at,
                          ['--cfg-options', *options])
    print(f'killed after the checkpoint of iteration {result["killed_after"]}; '
          f'final checkpoints: {result["checkpoints"][0]}, {result["checkpoints"][1]}')
    for part in ('state_dict', 'optimizer'):
        r = result[part]
        verdict = 'identical' if r['exact'] else (
            f'{len(r["differing"])} differ, largest difference {r["max_abs_diff"]:.3g} '
            f'({r["worst"]})')
        print(f'{part}: {r["tensors"]} tensors, {verdict}')
    for step, loss in sorted(result['resumed_losses'].items()):
        print(f'iteration {step}: loss {result["losses"].get(step)} uninterrupted, '
              f'{loss} resumed')
    return 0 if result['state_dict']['exact'] else 1


if __name__ == '__main__':
    sys.exit(main())

"""The launch lines of docs/training.md are what ``mim train`` runs.

The page gives each ``mim train ... --launcher slurm|pytorch`` example (a ``bash`` block)
followed by the command it runs (the next ``text`` block, with ``PYTHON`` for the Python that
runs mim and ``TOOLBOX`` for the toolbox's directory). Slurm examples run the real ``mim``
with a stand-in ``srun`` first on ``PATH`` that records its arguments and ``MASTER_PORT`` and
exits 0; ``pytorch`` examples run mim's command in this process with the launch (its
``subprocess.check_call``) recorded instead of run. The ``torchrun`` lines are parsed by
torchrun's own argument parser.
"""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from mmfish_tools.mim_runs import mim_executable

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / 'docs' / 'training.md'
# deprecations inside openmim 0.3.9 (Click's and setuptools' APIs), not mmfish's
pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning:mim')


def _blocks(text: str):
    """``(language, content)`` of every fenced code block, in order."""
    return re.findall(r'^```(\w*)\n(.*?)^```', text, flags=re.S | re.M)


def _examples(launcher: str):
    """``(mim argv, expected argv)`` of each concrete ``mim train ... --launcher <launcher>``
    example of the page (a bash block followed by the text block of what it runs)."""
    blocks = _blocks(DOC.read_text())
    out = []
    for (lang, code), (next_lang, expected) in zip(blocks, blocks[1:]):
        line = code.replace('\\\n', ' ')
        if lang == 'bash' and line.startswith('mim train') and \
                f'--launcher {launcher}' in line and next_lang == 'text':
            out.append((shlex.split(line)[1:], shlex.split(expected)))
    return out


def _toolbox_dir(name: str) -> str:
    import importlib
    return os.path.dirname(importlib.import_module(name).__file__)


def _substitute(expected, toolbox: str):
    return [a.replace('TOOLBOX', _toolbox_dir(toolbox)) if a.startswith('TOOLBOX/')
            else sys.executable if a == 'PYTHON' else a for a in expected]


def test_page_has_the_examples():
    assert len(_examples('slurm')) == 2 and len(_examples('pytorch')) == 1


@pytest.mark.parametrize('example', range(2))
def test_slurm_launch_line_matches_the_docs(example, tmp_path):
    args, expected = _examples('slurm')[example]
    record = tmp_path / 'srun.json'
    srun = tmp_path / 'bin' / 'srun'
    srun.parent.mkdir()
    srun.write_text(f'#!{sys.executable}\n'
                    'import json, os, sys\n'
                    'json.dump(dict(argv=sys.argv[1:], port=os.environ.get("MASTER_PORT")),\n'
                    '          open(os.environ["SRUN_RECORD"], "w"))\n')
    srun.chmod(0o755)
    env = dict(os.environ, PATH=f'{srun.parent}{os.pathsep}{os.environ["PATH"]}',
               SRUN_RECORD=str(record), PYTHONWARNINGS='ignore')
    res = subprocess.run([mim_executable(), *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    recorded = json.loads(record.read_text())
    assert ['srun', *recorded['argv']] == _substitute(expected, args[1])
    port = args[args.index('--port') + 1] if '--port' in args else None
    if port:
        assert recorded['port'] == port
    else:
        assert 20000 <= int(recorded['port']) <= 30000


def _mim_in_process(args, monkeypatch):
    """Run ``mim <args>`` in this process; return Click's result and the commands that mim's
    train command would have launched."""
    import importlib

    from click.testing import CliRunner
    from mim.cli import cli
    mim_train = importlib.import_module('mim.commands.train')  # the package exports a function
    launched = []

    def check_call(cmd, env=None, **kwargs):
        launched.append(dict(cmd=list(cmd), port=(env or {}).get('MASTER_PORT')))
        return 0

    monkeypatch.setattr(mim_train.subprocess, 'check_call', check_call)
    monkeypatch.chdir(ROOT)
    return CliRunner().invoke(cli, args), launched


def test_pytorch_launch_line_matches_the_docs(monkeypatch):
    (args, expected), = _examples('pytorch')
    result, launched = _mim_in_process(args, monkeypatch)
    assert result.exit_code == 0, result.output
    assert len(launched) == 1
    assert launched[0]['cmd'] == _substitute(expected, args[1])
    assert launched[0]['port'] == args[args.index('--port') + 1]


@pytest.mark.parametrize('missing', ['--partition', '--gpus-per-node'])
def test_slurm_without_partition_or_gpus_per_node_is_refused(missing, monkeypatch):
    """mim refuses before launching anything (with Click >= 8.3.1 it ran ``srun -p
    Sentinel.UNSET ...`` instead)."""
    args, _ = _examples('slurm')[1]  # the example with --srun-args
    i = args.index(missing)
    result, launched = _mim_in_process(args[:i] + args[i + 2:], monkeypatch)
    assert not launched
    assert isinstance(result.exception, AssertionError)
    assert 'gpus-per-node and partition should not be None' in str(result.exception)


def test_click_works_with_mim():
    """openmim 0.3.9 reads unset options as None: Click 8.3 and later hand it a sentinel."""
    from importlib.metadata import version

    from packaging.version import Version
    installed = version('click')
    assert Version(installed) < Version('8.3'), \
        f'Click {installed} breaks openmim 0.3.9\'s launchers: install Click<8.3'


def _torchrun_lines():
    """The argument lists of every ``torchrun`` line of the page, continuation lines joined."""
    text = DOC.read_text().replace('\\\n', ' ')
    return [shlex.split(ln)[1:] for lang, code in _blocks(text) if lang == 'bash'
            for ln in code.splitlines() if ln.startswith('torchrun ')]


def test_torchrun_lines_parse():
    from torch.distributed.run import get_args_parser
    lines = _torchrun_lines()
    assert len(lines) == 4
    for argv in lines:
        args = get_args_parser().parse_args(argv)
        assert args.nproc_per_node in ('2', '8')
        if args.nnodes == '2':
            assert args.master_addr == '10.0.0.1' and args.master_port == 29500
            assert args.node_rank in (0, 1)
        tail = [args.training_script, *args.training_script_args]
        assert '--launcher' in tail or args.module

"""``make install``'s choice between a CPU-only and a CUDA mmcv (``mmfish_tools.cuda_setup``),
the ``CUDA_HOME`` it lays out in the venv, and ``check_env``'s report of what mmcv was built with
against the machine. The GPU is mocked (the probe and ``torch.cuda``), never the compiler: the
slow test lays out ``CUDA_HOME`` from PyPI's real compiler packages and has torch's own
``_find_cuda_home`` and ``_check_cuda_version`` accept it, without compiling."""
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils import cpp_extension

from mmfish_tools import check_env, cuda_setup
from mmfish_tools.cuda_setup import CudaSetupError, GpuProbe

NO_GPU = GpuProbe()
H100 = GpuProbe(driver=True, torch_cuda=True, archs=['9.0'], names=['NVIDIA H100 80GB HBM3'])


@pytest.fixture
def gpu_machine(monkeypatch):
    """An H100 as the probe sees it: the driver (/proc/driver/nvidia) and
    torch.cuda.is_available(); no nvidia-smi, no CUDA toolkit, no CUDA_HOME."""
    monkeypatch.setattr(cuda_setup, '_nvidia_smi', lambda: [])
    monkeypatch.setattr(cuda_setup, '_proc_gpus', lambda path='': 1)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    monkeypatch.setattr(torch.cuda, 'get_device_capability', lambda i=0: (9, 0))
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda i=0: 'NVIDIA H100 80GB HBM3')
    monkeypatch.setattr(torch.version, 'cuda', '13.0')
    for name in ('CUDA_HOME', 'CUDA_PATH'):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cpu_machine(monkeypatch):
    monkeypatch.setattr(cuda_setup, '_nvidia_smi', lambda: [])
    monkeypatch.setattr(cuda_setup, '_proc_gpus', lambda path='': 0)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.version, 'cuda', '13.0')


# ---------------------------------------------------------------------------------------------
# the decision


def test_a_gpu_machine_without_a_toolkit_gets_the_cuda_build(gpu_machine, monkeypatch, tmp_path,
                                                              capsys):
    probe = cuda_setup.probe_gpu()
    assert probe.present and probe.archs == ['9.0']
    plan = cuda_setup.decide('auto', '', probe, torch.version.cuda, '13.0.3.0', cores=16)
    assert plan.mode == 'cuda' and plan.archs == ['9.0'] and plan.warning is None
    assert plan.toolkit_spec == 'cuda-toolkit[nvcc,cccl]==13.0.3'
    assert 3 <= plan.estimate_min <= 10  # said up front: minutes on 16 cores, not an hour
    # the command the Makefile runs: prints the mode, says why and how long, keeps the plan
    monkeypatch.setattr(cuda_setup, 'venv_root', lambda: tmp_path)
    monkeypatch.setattr(cuda_setup, 'installed_toolkit_version', lambda: '13.0.3.0')
    assert cuda_setup.main(['decide']) == 0
    out, err = capsys.readouterr()
    assert out.strip() == 'cuda'
    assert 'architectures 9.0' in err and 'minutes' in err and 'NVIDIA H100' in err
    assert cuda_setup.main(['toolkit-spec']) == 0
    assert capsys.readouterr().out.strip() == 'cuda-toolkit[nvcc,cccl]==13.0.3'
    assert cuda_setup.load_plan(tmp_path).archs == ['9.0']


def test_nvidia_smi_alone_is_a_gpu_and_gives_the_architectures(monkeypatch):
    """A driver that torch cannot use (torch.cuda.is_available() False) still counts."""
    monkeypatch.setattr(cuda_setup, '_nvidia_smi', lambda: [['NVIDIA A100', '8.0'],
                                                            ['NVIDIA H100', '9.0']])
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    probe = cuda_setup.probe_gpu()
    assert probe.present and not probe.torch_cuda and probe.archs == ['8.0', '9.0']
    plan = cuda_setup.decide('auto', None, probe, '13.0', '13.0.3.0', cores=2)
    assert plan.mode == 'cuda' and plan.archs == ['8.0', '9.0']


def test_cuda_0_forces_the_cpu_build_loudly_on_a_gpu_machine(gpu_machine):
    plan = cuda_setup.decide('0', '', cuda_setup.probe_gpu(), '13.0', '13.0.3.0')
    assert plan.mode == 'cpu'
    assert 'WITHOUT its CUDA ops' in plan.warning and cuda_setup.FIX_COMMAND in plan.warning
    quiet = cuda_setup.decide('0', '', NO_GPU, '13.0', '13.0.3.0')
    assert quiet.mode == 'cpu' and quiet.warning is None


def test_no_gpu_gets_the_cpu_build(cpu_machine, monkeypatch, tmp_path, capsys):
    assert not cuda_setup.probe_gpu().present
    monkeypatch.setattr(cuda_setup, 'venv_root', lambda: tmp_path)
    assert cuda_setup.main(['decide', '--cuda', 'auto']) == 0
    assert capsys.readouterr().out.strip() == 'cpu'


def test_cuda_1_with_archs_builds_cuda_without_a_gpu(cpu_machine):
    plan = cuda_setup.decide('1', '9.0', cuda_setup.probe_gpu(), '13.0', '13.0.3.0', cores=2)
    assert plan.mode == 'cuda' and plan.archs == ['9.0'] and plan.warning is None
    assert plan.toolkit_spec == 'cuda-toolkit[nvcc,cccl]==13.0.3'
    assert plan.estimate_min >= 20  # 2 cores: tens of minutes, said up front
    with pytest.raises(CudaSetupError, match='CUDA_ARCHS'):  # no GPU to read the archs from
        cuda_setup.decide('1', '', NO_GPU, '13.0', '13.0.3.0')
    with pytest.raises(CudaSetupError, match='CPU-only'):  # a CPU-only torch cannot
        cuda_setup.decide('1', '9.0', NO_GPU, None, None)


def test_cuda_archs_overrides_the_gpus_archs(gpu_machine):
    plan = cuda_setup.decide('auto', '8.0;9.0', cuda_setup.probe_gpu(), '13.0', '13.0.3.0')
    assert plan.archs == ['8.0', '9.0']
    assert cuda_setup.estimate_minutes(2, 16) > cuda_setup.estimate_minutes(1, 16)


@pytest.mark.parametrize('text, archs', [('9.0', ['9.0']), ('9.0;8.0', ['8.0', '9.0']),
                                         ('8.6, 9.0+PTX', ['8.6', '9.0+PTX']),
                                         ('sm_90 80', ['8.0', '9.0']), ('', []), (None, [])])
def test_parse_archs(text, archs):
    assert cuda_setup.parse_archs(text) == archs


@pytest.mark.parametrize('bad', ['9', 'hopper', '9.0;x'])
def test_parse_archs_refuses_what_is_not_an_arch(bad):
    with pytest.raises(CudaSetupError):
        cuda_setup.parse_archs(bad)


def test_bad_cuda_flag_is_refused():
    with pytest.raises(CudaSetupError, match='CUDA=auto'):
        cuda_setup.decide('maybe', '', NO_GPU, '13.0')


def test_toolkit_spec_matches_torchs_cuda():
    assert cuda_setup.toolkit_spec('13.0', '13.0.3.0') == 'cuda-toolkit[nvcc,cccl]==13.0.3'
    assert cuda_setup.toolkit_spec('13.0', '13.0.3.1') == 'cuda-toolkit[nvcc,cccl]==13.0.3.1'
    # no cuda-toolkit distribution of torch's CUDA installed: a release of torch's major.minor
    assert cuda_setup.toolkit_spec('12.8', None) == 'cuda-toolkit[nvcc,cccl]==12.8.*'
    assert cuda_setup.toolkit_spec('13.0', '12.9.1') == 'cuda-toolkit[nvcc,cccl]==13.0.*'


def test_the_cuda_wheel_has_its_own_folder_outside_pips_cache(tmp_path):
    plan = cuda_setup.decide('1', '8.0;9.0', NO_GPU, '13.0', '13.0.3.0')
    folder = cuda_setup.wheel_dir(plan, tmp_path, 'mmcv==2.1.0', '2.13.0')
    assert folder == tmp_path / 'wheels' / 'mmcv-2.1.0-torch2.13.0-cu130-sm80_sm90'
    cmd = cuda_setup.wheel_command('mmcv==2.1.0', folder, None)
    assert '--no-cache-dir' in cmd and '--no-build-isolation' in cmd and str(folder) in cmd
    env = cuda_setup.build_env(plan, tmp_path / 'cuda', 2, base={})
    assert env == {'CUDA_HOME': str(tmp_path / 'cuda'), 'FORCE_CUDA': '1', 'MMCV_WITH_OPS': '1',
                   'TORCH_CUDA_ARCH_LIST': '8.0;9.0', 'MAX_JOBS': '2'}


def test_build_wheel_builds_into_its_folder_once(tmp_path, monkeypatch):
    """pip wheel (faked) runs with the CUDA build's environment, without pip's cache, into a
    partial folder renamed when done; a second build reuses the wheel."""
    plan = cuda_setup.decide('1', '9.0', NO_GPU, '13.0', '13.0.3.0', cores=2)
    cuda_setup.layout_cuda_home(_fake_tree(tmp_path), tmp_path / 'cuda')
    monkeypatch.setattr(cuda_setup, 'torch_version', lambda: '2.13.0')
    calls = []

    def fake_pip(cmd, env, cwd):
        calls.append((cmd, env))
        out = Path(cmd[cmd.index('-w') + 1])
        assert out.name.endswith('.partial') and '--no-cache-dir' in cmd
        (out / 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl').write_bytes(b'')
        return 0
    monkeypatch.setattr(cuda_setup.subprocess, 'call', fake_pip)
    wheel = cuda_setup.build_wheel(plan, tmp_path)
    assert wheel == (tmp_path / 'wheels' / 'mmcv-2.1.0-torch2.13.0-cu130-sm90'
                     / 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl') and wheel.exists()
    env = calls[0][1]
    assert (env['CUDA_HOME'], env['FORCE_CUDA'], env['TORCH_CUDA_ARCH_LIST'], env['MAX_JOBS']) \
        == (str(tmp_path / 'cuda'), '1', '9.0', '2')
    assert cuda_setup.build_wheel(plan, tmp_path) == wheel and len(calls) == 1
    assert not list((tmp_path / 'wheels').glob('*.partial'))


def test_the_makefile_runs_the_decision_and_keeps_the_cpu_command():
    """Thin Makefile: the decision and the layout are cuda_setup's; the CPU-only command is the
    one make install always ran."""
    text = (cuda_setup.ROOT / 'Makefile').read_text()
    assert '$(CUDA_SETUP) decide' in text and '$(CUDA_SETUP) layout' in text
    assert 'mmfish_tools.cuda_setup' in text
    assert ('MMCV_WITH_OPS=1 MAX_JOBS=$$(nproc) $(PIP) $(PINS) --no-build-isolation '
            '-r requirements/mmcv.txt') in text


# ---------------------------------------------------------------------------------------------
# the layout (a fake compiler tree here; the real one in the slow test)


def _fake_tree(root: Path, release: str = '13.0') -> Path:
    tree = root / 'site-packages' / 'nvidia' / 'cu13'
    for rel in ('include/cuda_runtime.h', 'include/crt/host_config.h', 'include/cublas_v2.h',
                'include/cusparse.h', 'include/cccl/thrust/version.h', 'nvvm/bin/cicc',
                'lib/libcudart.so.13', 'lib/libcublas.so.13', '.metadata/x'):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text('')
    nvcc = tree / 'bin' / 'nvcc'
    nvcc.parent.mkdir()
    nvcc.write_text(f'#!/bin/sh\necho "Cuda compilation tools, release {release}, '
                    f'V{release}.88"\n')
    nvcc.chmod(0o755)
    return tree


def test_layout_links_the_tree_and_adds_libcudart_so(tmp_path):
    tree = _fake_tree(tmp_path)
    home = cuda_setup.layout_cuda_home(tree, tmp_path / 'venv' / 'cuda')
    assert (home / 'bin').resolve() == tree / 'bin' and (home / 'include' / 'cusparse.h').exists()
    assert os.readlink(home / 'lib' / 'libcudart.so') == 'libcudart.so.13'
    assert (home / 'lib' / 'libcudart.so').resolve() == tree / 'lib' / 'libcudart.so.13'
    assert (home / 'lib64').resolve() == (home / 'lib').resolve()
    assert not (home / '.metadata').exists()
    assert sorted(p.name for p in (tree / 'lib').iterdir()) == ['libcublas.so.13',
                                                               'libcudart.so.13']  # untouched
    assert cuda_setup.nvcc_version(home) == '13.0'
    assert cuda_setup.layout_cuda_home(tree, home) == home  # idempotent
    foreign = tmp_path / 'other'
    foreign.mkdir()
    with pytest.raises(CudaSetupError, match='not laid out by mmfish'):
        cuda_setup.layout_cuda_home(tree, foreign)
    (tree / 'bin' / 'nvcc').unlink()
    with pytest.raises(CudaSetupError, match='no nvcc'):
        cuda_setup.layout_cuda_home(tree, home)


def test_layout_names_what_is_missing(tmp_path):
    tree = _fake_tree(tmp_path)
    (tree / 'include' / 'cccl' / 'thrust' / 'version.h').unlink()
    with pytest.raises(CudaSetupError, match='thrust'):
        cuda_setup.layout_cuda_home(tree, tmp_path / 'cuda')


def _accepted_by_torch(home: Path, monkeypatch) -> None:
    """torch's own checks of CUDA_HOME, as BuildExtension runs them before compiling."""
    monkeypatch.setenv('CUDA_HOME', str(home))
    monkeypatch.delenv('CUDA_PATH', raising=False)
    assert cpp_extension._find_cuda_home() == str(home)
    monkeypatch.setattr(cpp_extension, 'CUDA_HOME', str(home))
    monkeypatch.setattr(torch.version, 'cuda', '13.0')
    _, compiler_version = cpp_extension.get_compiler_abi_compatibility_and_version('c++')
    cpp_extension._check_cuda_version('c++', compiler_version)


def test_torch_refuses_a_layout_whose_nvcc_has_another_major(tmp_path, monkeypatch):
    home = cuda_setup.layout_cuda_home(_fake_tree(tmp_path, '12.8'), tmp_path / 'cuda')
    with pytest.raises(RuntimeError):
        _accepted_by_torch(home, monkeypatch)


# ---------------------------------------------------------------------------------------------
# what mmcv was built with (check_env)


def _fatbin(*entries) -> bytes:
    """A fat binary as nvcc embeds it: (kind, arch) entries, kind 2 SASS, 1 PTX."""
    body = b''
    for kind, arch in entries:
        payload = b'\0' * 16
        header = struct.pack('<HHIQ', kind, 0x101, 64, len(payload)) + b'\0' * 12
        header += struct.pack('<I', arch) + b'\0' * (64 - 32)
        body += header + payload
    return b'\x50\xed\x55\xba' + struct.pack('<HHQ', 1, 16, len(body)) + body


def test_fatbin_archs():
    data = b'ELF...' + _fatbin((2, 90), (1, 90)) + b'...' + _fatbin((2, 80)) + b'end'
    assert cuda_setup.fatbin_archs(data) == ['8.0', '9.0', '9.0+PTX']
    assert cuda_setup.fatbin_archs(b'no GPU code here') == []


def test_arch_runs():
    assert cuda_setup.arch_runs(['9.0'], '9.0')
    assert cuda_setup.arch_runs(['8.0'], '8.6') and not cuda_setup.arch_runs(['8.6'], '8.0')
    assert not cuda_setup.arch_runs(['8.0'], '9.0') and cuda_setup.arch_runs(['8.0+PTX'], '9.0')


@pytest.fixture
def mmcv_build(monkeypatch, tmp_path):
    """Make mmcv report a build: ``set(cuda, ext_bytes)``."""
    import mmcv.ops

    def set_build(cuda: str, ext: bytes):
        path = tmp_path / '_ext.cpython-311-x86_64-linux-gnu.so'
        path.write_bytes(ext)
        monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: cuda)
        monkeypatch.setattr(mmcv.ops, 'get_compiler_version', lambda: 'GCC 12.2')
        monkeypatch.setattr(cuda_setup, 'mmcv_ext_path', lambda: path)
    return set_build


CUDA_EXT = (b'\0_Z26NMSCUDAKernelLauncherN2at6TensorE\0_Z31RoIAlignForwardCUDAKernelLauncher'
            b'v\0' + _fatbin((2, 90)))


def test_check_env_names_a_cpu_only_mmcv_on_a_gpu_machine_an_error(gpu_machine, mmcv_build,
                                                                   capsys):
    mmcv_build('not available', b'\0_Z9nms_implv\0')
    assert check_env.main(['--mmcv-only']) == 1
    out, err = capsys.readouterr()
    assert 'CPU only' in out and 'NVIDIA H100' in out
    assert 'mmcv is CPU-only on a machine with' in err and 'Fix: make mmcv CUDA=1' in err
    # asked for (make install CUDA=0): a loud warning, not an error
    assert check_env.main(['--mmcv-only', '--cuda', '0']) == 0
    assert 'WITHOUT its CUDA ops' in capsys.readouterr().out


def test_check_env_accepts_a_cuda_mmcv_for_the_gpu(gpu_machine, mmcv_build, capsys):
    mmcv_build('13.0', CUDA_EXT)
    assert check_env.main(['--mmcv-only']) == 0
    out = capsys.readouterr().out
    assert 'CUDA 13.0, 2 CUDA kernel launchers, architectures 9.0' in out


def test_check_env_names_missing_architectures_and_other_cuda(gpu_machine, mmcv_build, capsys):
    mmcv_build('13.0', CUDA_EXT.replace(struct.pack('<I', 90), struct.pack('<I', 80)))
    assert check_env.main(['--mmcv-only']) == 1
    assert "not for this GPU's 9.0. Fix: make mmcv CUDA=1" in capsys.readouterr().err
    mmcv_build('12.8', CUDA_EXT)
    assert check_env.main(['--mmcv-only']) == 1
    assert 'built with CUDA 12.8, torch has CUDA 13.0' in capsys.readouterr().err


def test_check_env_on_a_cpu_machine_accepts_either_build(cpu_machine, mmcv_build, capsys):
    mmcv_build('not available', b'')
    assert check_env.main(['--mmcv-only']) == 0
    mmcv_build('13.0', CUDA_EXT)  # a CUDA mmcv runs its CPU ops on a machine without a GPU
    assert check_env.main(['--mmcv-only']) == 0


# ---------------------------------------------------------------------------------------------
# the real compiler packages (slow: a few hundred MB from PyPI unless a tree is at hand)


def _compiler_tree(tmp_path: Path) -> Path:
    """A venv-like ``nvidia/cu13`` tree with the compiler packages: ``MMFISH_CUDA_TREE``, or this
    venv's when ``make install`` put them there, or else pip installs them with ``--target`` and
    this venv's runtime parts (from torch's wheels) are linked in beside them, as pip merges both
    into one tree in a venv."""
    given = os.environ.get('MMFISH_CUDA_TREE')
    if given:
        return Path(given)
    own = cuda_setup.nvidia_tree(cuda_setup.site_packages(), '13.0')
    if (own / 'bin' / 'nvcc').exists():
        return own
    target = tmp_path / 'site-packages'
    env = {k: v for k, v in os.environ.items() if k != 'PIP_FIND_LINKS'}
    env['PIP_CONFIG_FILE'] = os.devnull
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--progress-bar', 'off', '--quiet',
                    '--target', str(target), cuda_setup.toolkit_spec('13.0', '13.0.3.0')],
                   check=True, env=env)
    tree = cuda_setup.nvidia_tree(target, '13.0')
    for part in ('include', 'lib'):
        for src in (own / part).rglob('*'):
            dst = tree / part / src.relative_to(own / part)
            if src.is_file() and not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.symlink_to(src)
    return tree


@pytest.mark.slow
def test_the_laid_out_cuda_home_satisfies_torch(tmp_path, monkeypatch):
    tree = _compiler_tree(tmp_path)
    home = cuda_setup.layout_cuda_home(tree, tmp_path / 'venv' / 'cuda')
    assert cuda_setup.nvcc_version(home) == '13.0'
    _accepted_by_torch(home, monkeypatch)
    # what CUDAExtension then hands the compiler and the linker
    lib = Path(cpp_extension.library_paths('cuda')[-1])
    assert lib == home / 'lib64' and (lib / 'libcudart.so').resolve().is_file()
    include = home / 'include'
    assert str(include) in cpp_extension.include_paths('cuda')
    for header in ('cuda_runtime.h', 'crt/host_config.h', 'cublas_v2.h', 'cusparse.h',
                   'cccl/thrust/version.h', 'cccl/cub/cub.cuh'):
        assert (include / header).is_file(), header

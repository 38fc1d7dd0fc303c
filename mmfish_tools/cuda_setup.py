"""mmcv's CUDA ops from PyPI's CUDA compiler: the decisions and the layout behind ``make install``.

mmcv 2.1.0 is published as source only; its CUDA ops are compiled when ``FORCE_CUDA=1`` or
``torch.cuda.is_available()``, through torch's ``CUDAExtension``, which needs ``CUDA_HOME`` and an
``nvcc`` of the same major version as torch's CUDA. A GPU machine with only the NVIDIA driver has
neither. PyPI has both: torch's wheels already bring ``cuda-toolkit``'s runtime parts under
``site-packages/nvidia/cu<major>``, and ``cuda-toolkit[nvcc,cccl]`` of the same version merges
nvcc, crt, nvvm and CCCL (thrust, cub) into that tree. :func:`layout_cuda_home` then lays out a
``CUDA_HOME`` inside the venv (``<venv>/cuda``: links to that tree, plus the ``libcudart.so`` link
the linker wants), without touching the files pip owns.

The Makefile calls it (``python -m mmfish_tools.cuda_setup <command>``)::

    decide --cuda auto|1|0 --archs "9.0"  # prints cpu or cuda; says why, and the time it will take
    toolkit-spec                          # cuda-toolkit[nvcc,cccl]==<the version torch brought>
    layout                                # lays out <venv>/cuda, prints its path
    build-wheel                           # pip wheel of mmcv with its CUDA ops, into wheel-dir
    wheel                                 # the path of that wheel

``decide`` keeps its decision in ``<venv>/.mmfish-cuda-plan.json`` for the commands after it.
The CUDA wheel is built with ``--no-cache-dir`` into its own folder, keyed by mmcv's, torch's and
CUDA's versions and the architectures, so that it never shadows the CPU-only wheel in pip's cache
(pip caches both under the same key) and a second ``make install`` reuses it.
"""
import argparse
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from . import ROOT

#: the extras of ``cuda-toolkit`` that hold the compiler: nvcc (with crt and nvvm) and CCCL
TOOLKIT_EXTRAS = 'nvcc,cccl'
#: the file in the venv where ``decide`` keeps its plan
PLAN_FILE = '.mmfish-cuda-plan.json'
#: what the CUDA build cost here (README, set-up section; mmcv 2.1.0, one architecture: 40.8
#: core-minutes in all, 45.9 minutes on 2 busy cores): core-minutes of the host part and of each
#: GPU architecture's device compile (split estimated), the longest single compile per
#: architecture (``filtered_lrelu.cu``, which bounds the build whatever the core count) and the
#: serial rest (setup.py, the link).
HOST_CORE_MIN = 15.0
DEVICE_CORE_MIN_PER_ARCH = 26.0
LONGEST_STEP_MIN_PER_ARCH = 3.5
SERIAL_MIN = 1.0

_ON = {'1', 'yes', 'true', 'on', 'cuda'}
_OFF = {'0', 'no', 'false', 'off', 'cpu'}
_ARCH = re.compile(r'^(\d+)\.(\d+)([af]?)(\+PTX)?$')


class CudaSetupError(RuntimeError):
    """A decision or layout that cannot be made; the message says what to do."""


# ---------------------------------------------------------------------------------------------
# what the machine has


@dataclasses.dataclass
class GpuProbe:
    """What this machine shows of NVIDIA GPUs."""
    driver: bool = False        #: nvidia-smi lists a GPU, or /proc/driver/nvidia/gpus has one
    torch_cuda: bool = False    #: torch.cuda.is_available()
    archs: List[str] = dataclasses.field(default_factory=list)  #: e.g. ['9.0'], deduplicated
    names: List[str] = dataclasses.field(default_factory=list)

    @property
    def present(self) -> bool:
        return self.driver or self.torch_cuda

    def describe(self) -> str:
        if not self.present:
            return 'no NVIDIA GPU (no driver, torch.cuda.is_available() is False)'
        seen = []
        if self.driver:
            seen.append('the NVIDIA driver')
        if self.torch_cuda:
            seen.append('torch.cuda.is_available()')
        what = ', '.join(self.names) if self.names else 'an NVIDIA GPU'
        archs = ', '.join(self.archs) if self.archs else 'unknown'
        return f'{what} (seen by {" and ".join(seen)}; compute capability {archs})'


def _nvidia_smi() -> List[List[str]]:
    """``[name, compute_cap]`` per GPU from nvidia-smi (compute_cap may be '' on old drivers)."""
    exe = shutil.which('nvidia-smi')
    if exe is None:
        return []
    for query in ('name,compute_cap', 'name'):
        try:
            out = subprocess.run([exe, f'--query-gpu={query}', '--format=csv,noheader'],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return []
        if out.returncode == 0:
            rows = [[c.strip() for c in line.split(',')] for line in out.stdout.splitlines()
                    if line.strip()]
            return [row + [''] * (2 - len(row)) for row in rows]
    return []


def _proc_gpus(path: str = '/proc/driver/nvidia/gpus') -> int:
    try:
        return len(os.listdir(path))
    except OSError:
        return 0


def probe_gpu() -> GpuProbe:
    """Look for NVIDIA GPUs: nvidia-smi, /proc/driver/nvidia, then torch (which also gives the
    architectures: ``torch.cuda.get_device_capability``)."""
    probe = GpuProbe()
    smi = _nvidia_smi()
    probe.driver = bool(smi) or _proc_gpus() > 0
    probe.names = [row[0] for row in smi]
    archs = [row[1] for row in smi if _ARCH.match(row[1] or '')]
    try:
        import torch
        probe.torch_cuda = bool(torch.cuda.is_available())
        if probe.torch_cuda:
            archs = []
            names = []
            for i in range(torch.cuda.device_count()):
                major, minor = torch.cuda.get_device_capability(i)
                archs.append(f'{major}.{minor}')
                names.append(torch.cuda.get_device_name(i))
            probe.names = probe.names or names
    except Exception:  # a broken torch is check_env's to report, not this probe's
        pass
    probe.archs = sorted(set(archs), key=arch_key)
    return probe


def arch_key(arch: str):
    m = _ARCH.match(arch)
    return (int(m.group(1)), int(m.group(2)), arch) if m else (0, 0, arch)


def parse_archs(text: Optional[str]) -> List[str]:
    """``"9.0"``, ``"8.0;9.0"``, ``"8.0 8.6,9.0+PTX"``, ``sm_90`` -> ``['8.0', '9.0', ...]``."""
    archs = []
    for item in re.split(r'[;,\s]+', (text or '').strip()):
        if not item:
            continue
        sm = re.match(r'^(?:sm_|compute_)?(\d+)(\d)([af]?)$', item)
        if sm and '.' not in item:
            item = f'{sm.group(1)}.{sm.group(2)}{sm.group(3)}'
        if not _ARCH.match(item):
            raise CudaSetupError(f'CUDA_ARCHS: {item!r} is not a GPU architecture (write the '
                                 f'compute capability, e.g. CUDA_ARCHS="9.0" or "8.0;9.0")')
        if item not in archs:
            archs.append(item)
    return sorted(archs, key=arch_key)


def torch_cuda_version() -> Optional[str]:
    """torch's CUDA version (``'13.0'``), None for a CPU-only torch."""
    import torch
    return torch.version.cuda


def installed_toolkit_version() -> Optional[str]:
    """The ``cuda-toolkit`` distribution torch's wheels brought (``'13.0.3.0'``), if any."""
    try:
        return importlib.metadata.version('cuda-toolkit')
    except importlib.metadata.PackageNotFoundError:
        return None


def toolkit_spec(cuda_version: str, toolkit_version: Optional[str]) -> str:
    """The pip requirement of the compiler packages matching torch's CUDA: the very
    ``cuda-toolkit`` release torch's wheels installed when its version is torch's CUDA, else
    the newest patch release of torch's CUDA (same major.minor)."""
    major_minor = '.'.join(cuda_version.split('.')[:2])
    if toolkit_version and toolkit_version.split('.')[:2] == major_minor.split('.'):
        parts = toolkit_version.split('.')
        while len(parts) > 3 and parts[-1] == '0':
            parts.pop()
        return f'cuda-toolkit[{TOOLKIT_EXTRAS}]=={".".join(parts)}'
    return f'cuda-toolkit[{TOOLKIT_EXTRAS}]=={major_minor}.*'


# ---------------------------------------------------------------------------------------------
# the decision


@dataclasses.dataclass
class Plan:
    mode: str                   #: 'cuda' or 'cpu'
    reason: str
    archs: List[str] = dataclasses.field(default_factory=list)
    cuda_version: Optional[str] = None
    toolkit_spec: Optional[str] = None
    cores: int = 1
    estimate_min: Optional[float] = None
    warning: Optional[str] = None   #: the loud message: a GPU machine that gets a CPU-only mmcv

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> 'Plan':
        return cls(**json.loads(text))


def estimate_minutes(n_archs: int, cores: int) -> float:
    """Wall minutes of mmcv's CUDA build on ``cores`` idle cores (an estimate from the build
    measured here; busy cores take longer)."""
    cores = max(1, cores)
    work = (HOST_CORE_MIN + DEVICE_CORE_MIN_PER_ARCH * n_archs) / cores
    return max(work, LONGEST_STEP_MIN_PER_ARCH * n_archs) + SERIAL_MIN


def usable_cores() -> int:
    """The cores this process may run on (what ``nproc`` says), for ``MAX_JOBS``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def normalise_cuda_flag(value: Optional[str]) -> str:
    value = (value or 'auto').strip().lower()
    if value in ('', 'auto'):
        return 'auto'
    if value in _ON:
        return '1'
    if value in _OFF:
        return '0'
    raise CudaSetupError(f'CUDA={value!r}: write CUDA=auto (the default: CUDA ops when a GPU is '
                         f'seen), CUDA=1 (always) or CUDA=0 (CPU-only mmcv)')


FIX_COMMAND = 'make mmcv CUDA=1'


def cpu_on_gpu_message(probe: GpuProbe, why: str) -> str:
    bar = '!' * 78
    return (f'{bar}\n!! This machine has {probe.describe()},\n!! but mmcv is built WITHOUT its '
            f'CUDA ops ({why}).\n!! mmdet\'s RoIAlign, NMS and the other mmcv ops fail on CUDA '
            f'tensors with this build.\n!! To build them: {FIX_COMMAND}   (about '
            f'{_fmt_min(estimate_minutes(max(1, len(probe.archs)), usable_cores()))} here)'
            f'\n{bar}')


def _fmt_min(minutes: float) -> str:
    if minutes < 90:
        return f'{max(1, round(minutes))} minutes'
    return f'{minutes / 60:.1f} hours'


def decide(cuda: Optional[str], archs: Optional[str], probe: GpuProbe,
           cuda_version: Optional[str], toolkit_version: Optional[str] = None,
           cores: Optional[int] = None) -> Plan:
    """CPU-only or CUDA mmcv. ``cuda``: ``auto`` (CUDA ops when a GPU is seen), ``1`` or ``0``;
    ``archs``: CUDA_ARCHS, the architectures to build for (default: the visible GPUs')."""
    flag = normalise_cuda_flag(cuda)
    cores = cores or usable_cores()
    override = parse_archs(archs)
    if flag == '0':
        plan = Plan('cpu', 'CUDA=0', cores=cores)
        if probe.present:
            plan.warning = cpu_on_gpu_message(probe, 'CUDA=0 was asked for')
        return plan
    if flag == 'auto' and not probe.present:
        return Plan('cpu', 'no NVIDIA GPU seen (CUDA=1 CUDA_ARCHS="9.0" builds the CUDA ops '
                    'anyway)', cores=cores)
    if cuda_version is None:
        if flag == '1':
            raise CudaSetupError('CUDA=1, but the installed torch is CPU-only (torch.version.cuda '
                                 'is None): install the default (CUDA) torch wheels')
        plan = Plan('cpu', 'the installed torch is CPU-only', cores=cores)
        plan.warning = cpu_on_gpu_message(probe, 'the installed torch is CPU-only')
        return plan
    chosen = override or probe.archs
    if not chosen:
        if probe.present:
            raise CudaSetupError(f'{probe.describe()}: its architecture could not be read '
                                 f'(torch.cuda.is_available() is False and nvidia-smi gives no '
                                 f'compute_cap): say it, e.g. make install CUDA_ARCHS="9.0"')
        raise CudaSetupError('CUDA=1 on a machine without a visible GPU: say which architectures '
                             'to build for, e.g. make install CUDA=1 CUDA_ARCHS="9.0" (H100); '
                             'each one more repeats the device compile')
    reason = ('CUDA=1' if flag == '1' else 'GPU seen: ' + probe.describe())
    return Plan('cuda', reason, archs=chosen, cuda_version=cuda_version,
                toolkit_spec=toolkit_spec(cuda_version, toolkit_version), cores=cores,
                estimate_min=round(estimate_minutes(len(chosen), cores), 1))


def announce(plan: Plan, out=None) -> None:
    out = out or sys.stderr
    if plan.mode == 'cuda':
        print(f'mmcv: building its CUDA ops ({plan.reason}) for CUDA {plan.cuda_version}, '
              f'architectures {";".join(plan.archs)}, with {plan.toolkit_spec} from PyPI.\n'
              f'mmcv: this compiles 58 CUDA files per architecture: about '
              f'{_fmt_min(plan.estimate_min)} on {plan.cores} idle cores (more when they are '
              f'busy; a wheel already built for these is reused); progress [n/136] below.',
              file=out)
    else:
        print(f'mmcv: CPU-only build ({plan.reason}).', file=out)
    if plan.warning:
        print(plan.warning, file=out)


# ---------------------------------------------------------------------------------------------
# the layout


def venv_root() -> Path:
    return Path(sys.prefix)


def site_packages() -> Path:
    return Path(sysconfig.get_paths()['purelib'])


def nvidia_tree(site: Path, cuda_version: str) -> Path:
    """Where cuda-toolkit's wheels put CUDA ``major``: ``site-packages/nvidia/cu<major>``."""
    return site / 'nvidia' / f'cu{cuda_version.split(".")[0]}'


#: what torch's CUDAExtension and mmcv's .cu files need, relative to CUDA_HOME
REQUIRED = ('bin/nvcc', 'nvvm/bin/cicc', 'include/cuda_runtime.h', 'include/crt/host_config.h',
            'include/cccl/thrust/version.h', 'include/cublas_v2.h', 'include/cusparse.h',
            'lib/libcudart.so')
_MARKER = '.mmfish-cuda-home'


def layout_cuda_home(tree: Path, dest: Path) -> Path:
    """Lay out ``dest`` as a CUDA_HOME made of links into ``tree`` (the merged
    ``nvidia/cu<major>`` tree): every entry linked but ``lib``, which is a folder of links to the
    tree's libraries plus ``libcudart.so`` (only ``libcudart.so.<major>`` is shipped, and the
    linker's ``-lcudart`` wants the unversioned name); ``lib64`` links to ``lib``. Idempotent;
    pip's files are left untouched."""
    tree = Path(tree).resolve()
    dest = Path(dest)
    if not (tree / 'bin' / 'nvcc').is_file():
        raise CudaSetupError(f'no nvcc in {tree}: install the compiler packages first '
                             f'(python -m mmfish_tools.cuda_setup toolkit-spec says which)')
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        if not (dest / _MARKER).exists():
            raise CudaSetupError(f'{dest} exists and was not laid out by mmfish: move it away')
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for entry in sorted(tree.iterdir()):
        if entry.name not in ('lib', 'lib64') and not entry.name.startswith('.'):
            (dest / entry.name).symlink_to(entry)
    lib = dest / 'lib'
    lib.mkdir()
    if (tree / 'lib').is_dir():
        for entry in sorted((tree / 'lib').iterdir()):
            (lib / entry.name).symlink_to(entry)
    if not (lib / 'libcudart.so').exists():
        versioned = sorted(lib.glob('libcudart.so.*'), key=lambda p: len(p.name))
        if not versioned:
            raise CudaSetupError(f'no libcudart.so.* in {tree / "lib"}: is nvidia-cuda-runtime '
                                 f'installed (it comes with torch)?')
        (lib / 'libcudart.so').symlink_to(versioned[0].name)
    (dest / 'lib64').symlink_to('lib')
    (dest / _MARKER).write_text(f'links into {tree}, laid out by mmfish_tools.cuda_setup\n')
    missing = [rel for rel in REQUIRED if not (dest / rel).exists()]
    if missing:
        raise CudaSetupError(f'{dest} lacks {", ".join(missing)}: the compiler packages '
                             f'({TOOLKIT_EXTRAS}) are not all installed in {tree}')
    return dest


def nvcc_version(cuda_home: Path) -> Optional[str]:
    out = subprocess.run([str(Path(cuda_home) / 'bin' / 'nvcc'), '--version'],
                         capture_output=True, text=True)
    m = re.search(r'release (\d+\.\d+)', out.stdout)
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------
# the build


def mmcv_requirement(root: Path = ROOT) -> str:
    for line in (root / 'requirements' / 'mmcv.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line.startswith('mmcv'):
            return line
    raise CudaSetupError('requirements/mmcv.txt names no mmcv')


def torch_version() -> str:
    import torch
    return torch.__version__.split('+')[0]


def wheel_dir(plan: Plan, venv: Path, requirement: str, torch_ver: str) -> Path:
    """Its own folder per mmcv, torch, CUDA version and architectures set."""
    mmcv_ver = requirement.split('==')[-1]
    cu = 'cu' + (plan.cuda_version or '').replace('.', '')
    sm = '_'.join('sm' + a.replace('.', '').replace('+PTX', 'ptx') for a in plan.archs)
    return venv / 'wheels' / f'mmcv-{mmcv_ver}-torch{torch_ver}-{cu}-{sm}'


def build_env(plan: Plan, cuda_home: Path, jobs: int,
              base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(CUDA_HOME=str(cuda_home), FORCE_CUDA='1', MMCV_WITH_OPS='1',
               TORCH_CUDA_ARCH_LIST=';'.join(plan.archs), MAX_JOBS=str(jobs))
    return env


def wheel_command(requirement: str, out_dir: Path, constraints: Optional[Path]) -> List[str]:
    cmd = [sys.executable, '-m', 'pip', 'wheel', '-v', '--progress-bar', 'off', '--no-deps',
           '--no-build-isolation', '--no-cache-dir', '-w', str(out_dir)]
    if constraints is not None:
        cmd += ['-c', str(constraints)]
    return cmd + [requirement]


def find_wheel(directory: Path) -> Optional[Path]:
    wheels = sorted(Path(directory).glob('mmcv-*.whl'))
    return wheels[-1] if wheels else None


def build_wheel(plan: Plan, venv: Path, root: Path = ROOT, jobs: Optional[int] = None) -> Path:
    """Build mmcv with its CUDA ops into :func:`wheel_dir`, unless a wheel is already there.
    The wheel is built without pip's cache, so it cannot shadow the CPU-only one there."""
    requirement = mmcv_requirement(root)
    out_dir = wheel_dir(plan, venv, requirement, torch_version())
    found = find_wheel(out_dir)
    if found is not None:
        print(f'mmcv: reusing {found} (delete it to rebuild)', file=sys.stderr)
        return found
    cuda_home = venv / 'cuda'
    if not (cuda_home / _MARKER).exists():
        raise CudaSetupError(f'{cuda_home} is not laid out: run the layout command first')
    tmp = out_dir.with_name(out_dir.name + '.partial')
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    env = build_env(plan, cuda_home, jobs or plan.cores)
    cmd = wheel_command(requirement, tmp, root / 'requirements' / 'constraints.txt')
    start = time.time()
    minutes = estimate_minutes(len(plan.archs), int(env['MAX_JOBS']))
    print(f'mmcv: CUDA build started {time.strftime("%H:%M")}, expect about {_fmt_min(minutes)} '
          f'(until about {time.strftime("%H:%M", time.localtime(start + 60 * minutes))} if the '
          f'cores are idle): CUDA_HOME={cuda_home} '
          f'TORCH_CUDA_ARCH_LIST="{env["TORCH_CUDA_ARCH_LIST"]}" MAX_JOBS={env["MAX_JOBS"]}',
          file=sys.stderr, flush=True)
    rc = subprocess.call(cmd, env=env, cwd=str(root))
    minutes = (time.time() - start) / 60
    if rc != 0:
        raise CudaSetupError(f'mmcv\'s CUDA build failed after {minutes:.0f} minutes '
                             f'(exit {rc}); the log is above')
    wheel = find_wheel(tmp)
    if wheel is None:
        raise CudaSetupError(f'pip wheel left no mmcv wheel in {tmp}')
    if tmp.exists():
        shutil.rmtree(out_dir, ignore_errors=True)
        tmp.rename(out_dir)
    print(f'mmcv: CUDA build done in {minutes:.1f} minutes: {out_dir / wheel.name}',
          file=sys.stderr)
    return out_dir / wheel.name


# ---------------------------------------------------------------------------------------------
# what an mmcv build holds (for check_env)


_FATBIN_MAGIC = b'\x50\xed\x55\xba'


def fatbin_archs(data: bytes) -> List[str]:
    """The GPU architectures of the code embedded in a shared library (its fat binaries):
    ``'9.0'`` for SASS built for sm_90, ``'9.0+PTX'`` for PTX; [] for a CPU-only build."""
    import struct
    found = set()
    pos = data.find(_FATBIN_MAGIC)
    while pos != -1:
        try:
            _, header_size, fat_size = struct.unpack_from('<HHQ', data, pos + 4)
            entry = pos + header_size
            end = entry + fat_size
            while entry < end and entry + 32 <= len(data):
                kind, _, ehsize, size = struct.unpack_from('<HHIQ', data, entry)
                arch = struct.unpack_from('<I', data, entry + 28)[0]
                if kind not in (1, 2) or ehsize < 32 or not 10 <= arch <= 200:
                    break
                found.add(f'{arch // 10}.{arch % 10}' + ('+PTX' if kind == 1 else ''))
                entry += ehsize + size
            step = max(fat_size + header_size, 4)
        except struct.error:
            break
        pos = data.find(_FATBIN_MAGIC, pos + step)
    return sorted(found, key=arch_key)


@dataclasses.dataclass
class MmcvBuild:
    cuda: Optional[str]         #: get_compiling_cuda_version(), None when 'not available'
    compiler: str
    kernels: int                #: distinct *CUDAKernelLauncher symbols in mmcv._ext
    archs: List[str]
    ext_path: Optional[str] = None

    @property
    def has_cuda(self) -> bool:
        return bool(self.cuda) and self.kernels > 0


def mmcv_ext_path() -> Optional[Path]:
    import importlib.util
    spec = importlib.util.find_spec('mmcv')
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob('_ext*.so'))
        if found:
            return found[0]
    return None


def inspect_mmcv() -> MmcvBuild:
    """What the installed mmcv was built with."""
    from mmcv.ops import get_compiler_version, get_compiling_cuda_version
    cuda = str(get_compiling_cuda_version())
    cuda = None if not re.match(r'^\d+\.\d+', cuda) else cuda
    path = mmcv_ext_path()
    kernels, archs = 0, []
    if path is not None:
        data = path.read_bytes()
        # the mangled names, as nm -D lists them (the debug info repeats them in other forms)
        kernels = len(set(re.findall(rb'_Z\d+[A-Za-z0-9_]*CUDAKernelLauncher[A-Za-z0-9_]*',
                                     data)))
        archs = fatbin_archs(data)
    return MmcvBuild(cuda, str(get_compiler_version()), kernels, archs,
                     str(path) if path else None)


def arch_runs(built: Sequence[str], device: str) -> bool:
    """Whether code built for ``built`` runs on a GPU of compute capability ``device``: SASS of
    the same major and a minor not above the device's (``9.0a``-style code only on its own
    architecture), or PTX not above it."""
    d = _ARCH.match(device)
    if d is None:
        return False
    dev = (int(d.group(1)), int(d.group(2)))
    for arch in built:
        m = _ARCH.match(arch)
        if m is None:
            continue
        own = (int(m.group(1)), int(m.group(2)))
        if m.group(4) and own <= dev:
            return True
        if m.group(3):
            if own == dev:
                return True
        elif own[0] == dev[0] and own[1] <= dev[1]:
            return True
    return False


def compare(build: MmcvBuild, probe: GpuProbe, cuda_flag: str = 'auto',
            torch_cuda: Optional[str] = None) -> (List[str], List[str]):
    """(errors, notes): what mmcv was built with against what the machine has; an error names
    the one command that fixes it."""
    errors, notes = [], []
    built = (f'CUDA {build.cuda}, {build.kernels} CUDA kernel launchers, architectures '
             f'{";".join(build.archs) or "unknown"}' if build.has_cuda else 'CPU only')
    notes.append(f'mmcv ops built with: {built} ({build.compiler})')
    notes.append(f'this machine: {probe.describe()}')
    if probe.present and not build.has_cuda:
        if normalise_cuda_flag(cuda_flag) == '0':
            notes.append(cpu_on_gpu_message(probe, 'CUDA=0 was asked for'))
        else:
            errors.append(f'mmcv is CPU-only on a machine with {probe.describe()}: its ops fail '
                          f'on CUDA tensors. Fix: {FIX_COMMAND}')
    if build.has_cuda and torch_cuda and build.cuda.split('.')[0] != torch_cuda.split('.')[0]:
        errors.append(f'mmcv was built with CUDA {build.cuda}, torch has CUDA {torch_cuda}. '
                      f'Fix: {FIX_COMMAND}')
    if build.has_cuda and probe.present and build.archs:
        missing = [a for a in probe.archs if not arch_runs(build.archs, a)]
        if missing:
            errors.append(f'mmcv\'s CUDA ops are built for {";".join(build.archs)}, not for this '
                          f'GPU\'s {";".join(missing)}. Fix: {FIX_COMMAND}')
    return errors, notes


# ---------------------------------------------------------------------------------------------
# the command line


def _plan_path(venv: Path) -> Path:
    return venv / PLAN_FILE


def load_plan(venv: Path) -> Plan:
    path = _plan_path(venv)
    if not path.exists():
        raise CudaSetupError(f'no {path}: run "python -m mmfish_tools.cuda_setup decide" first')
    return Plan.from_json(path.read_text())


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m mmfish_tools.cuda_setup',
                                     description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('decide', help='print cpu or cuda (and keep the plan in the venv)')
    p.add_argument('--cuda', default='auto', help='auto (default), 1 or 0 (Makefile: CUDA=)')
    p.add_argument('--archs', default='', help='e.g. "9.0" or "8.0;9.0" (Makefile: CUDA_ARCHS=)')
    sub.add_parser('toolkit-spec', help='the pip requirement of the compiler packages')
    p = sub.add_parser('layout', help='lay out <venv>/cuda and print its path')
    p.add_argument('--dest', type=Path, default=None)
    p = sub.add_parser('build-wheel', help='build the CUDA mmcv wheel, print its path')
    p.add_argument('--jobs', type=int, default=None)
    sub.add_parser('wheel', help='the path of the CUDA mmcv wheel built for the plan')
    args = parser.parse_args(argv)
    venv = venv_root()
    try:
        if args.command == 'decide':
            cuda_version = torch_cuda_version()
            plan = decide(args.cuda, args.archs, probe_gpu(), cuda_version,
                          installed_toolkit_version())
            announce(plan)
            _plan_path(venv).write_text(plan.to_json())
            print(plan.mode)
            return 0
        plan = load_plan(venv)
        if plan.mode != 'cuda':
            raise CudaSetupError(f'the plan in {_plan_path(venv)} is a CPU-only build')
        if args.command == 'toolkit-spec':
            print(plan.toolkit_spec)
        elif args.command == 'layout':
            home = layout_cuda_home(nvidia_tree(site_packages(), plan.cuda_version),
                                    args.dest or venv / 'cuda')
            nvcc = nvcc_version(home)
            print(f'CUDA_HOME={home}: nvcc {nvcc}, torch CUDA {plan.cuda_version}',
                  file=sys.stderr)
            if nvcc is None or nvcc.split('.')[0] != plan.cuda_version.split('.')[0]:
                raise CudaSetupError(f'nvcc {nvcc} in {home} does not match torch\'s CUDA '
                                     f'{plan.cuda_version}')
            print(home)
        elif args.command == 'build-wheel':
            print(build_wheel(plan, venv, jobs=args.jobs))
        elif args.command == 'wheel':
            found = find_wheel(wheel_dir(plan, venv, mmcv_requirement(), torch_version()))
            if found is None:
                raise CudaSetupError('no CUDA mmcv wheel built for this plan yet')
            print(found)
    except CudaSetupError as exc:
        print(f'mmfish cuda_setup: error: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""The package's dependencies point one way: the static import graph of ``mmfish`` (every
``import`` statement, at module level or inside functions) has no cycle; the models do not
import the converters; the library does not import the tooling of the checkout
(``mmfish_tools``), which the wheel leaves out."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'mmfish'
TOOLING = 'mmfish_tools'


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _modules() -> dict:
    return {_module_name(p): p for p in PACKAGE.rglob('*.py')}


def _imports(name: str, path: Path, modules: dict) -> set:
    """The mmfish modules that ``path`` imports anywhere in its code."""
    is_package = path.name == '__init__.py'
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parent = name.split('.')
                parent = parent[:len(parent) - node.level + (1 if is_package else 0)]
                base = '.'.join(parent + ([base] if base else []))
            # 'from pkg import mod' imports pkg.mod when that is a module
            targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            # importing a.b.c runs a/__init__ and a/b/__init__ too
            parts = target.split('.')
            for i in range(1, len(parts) + 1):
                candidate = '.'.join(parts[:i])
                if candidate in modules and candidate != name:
                    found.add(candidate)
    return found


def import_graph() -> dict:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict):
    """A list of modules forming a cycle, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'active'
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'active':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def _without_package_inits(graph: dict) -> dict:
    """Edges into a package's ``__init__`` from its own submodules are how Python runs a
    package (``mmfish/__init__`` imports ``mmfish.models``, which imports ``mmfish``): they
    are not dependencies of the code, so a submodule's edges to its ancestors are dropped."""
    return {name: {t for t in targets if not name.startswith(t + '.')}
            for name, targets in graph.items()}


def test_the_static_import_graph_has_no_cycle():
    graph = _without_package_inits(import_graph())
    assert len(graph) > 20 and graph['mmfish.converters.conversion']  # the graph is read
    assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


@pytest.mark.parametrize('library', ['mmfish.models', 'mmfish.checkpoint'])
def test_the_models_and_checkpoints_do_not_depend_on_the_converters(library):
    graph = _without_package_inits(import_graph())
    reached, todo = set(), [m for m in graph if m == library or m.startswith(library + '.')]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert not [m for m in reached if m.startswith('mmfish.converters')]


#: the library's imports by name at run time (``importlib.import_module``), which the static
#: graph above does not see: strict Pretrained loading reaches the converters only to name the
#: likely cause of a checkpoint that does not fit, so that importing the models never imports them
LAZY_IMPORTS = {('mmfish.checkpoint.pretrained', '..converters.family')}


def test_the_only_imports_by_name_are_the_declared_ones():
    found = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'import_module':
                found.add((name, node.args[0].value if node.args and isinstance(
                    node.args[0], ast.Constant) else ast.dump(node)))
    assert found == LAZY_IMPORTS


def tooling_references(source: str) -> list:
    """What in ``source`` imports :data:`TOOLING`: ``import``/``from`` statements anywhere in
    the code, and strings that are one of its module names (``importlib.import_module``,
    ``python -m``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or '']
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value.strip()]
        else:
            continue
        found += [n for n in names if n == TOOLING or n.startswith(TOOLING + '.')]
    return found


def test_the_library_does_not_import_the_tooling():
    modules = _modules()
    assert len(modules) > 20  # the package is read
    found = {name: refs for name, path in modules.items()
             if (refs := tooling_references(path.read_text()))}
    assert not found, f'mmfish modules that import {TOOLING}: {found}'


def test_the_tooling_reference_finder_finds_references():
    assert tooling_references('def f():\n    from mmfish_tools.docs import update_doc\n')
    assert tooling_references('import mmfish_tools')
    assert tooling_references("importlib.import_module('mmfish_tools.tiny_data')")
    assert tooling_references("cmd = [sys.executable, '-m', 'mmfish_tools.check_env']")
    assert not tooling_references('from .tools import x\nimport mmfish_toolsx\nimport mmfish\n'
                                  "'''Not the library: see mmfish_tools.docs.'''")


def test_the_wheel_packages_the_library_only():
    """The packages setuptools finds with pyproject.toml's configuration are exactly mmfish's
    (``mmfish_tools`` beside it stays out of the wheel, which ``include = ["mmfish*"]`` would
    not leave out)."""
    from setuptools import find_namespace_packages
    from setuptools.config.pyprojecttoml import read_configuration
    packages = read_configuration(ROOT / 'pyproject.toml')['tool']['setuptools']['packages']
    on_disk = {'.'.join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob('__init__.py')}
    assert 'mmfish' in on_disk and 'mmfish.models.backbones' in on_disk
    assert sorted(packages) == sorted(on_disk)
    assert TOOLING in find_namespace_packages(str(ROOT), include=['mmfish*'])  # the trap


def test_importing_the_models_does_not_import_the_converters():
    code = ('import sys, mmfish.models\n'
            'print(sorted(m for m in sys.modules if m.startswith("mmfish.converters")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == '[]'

"""The package's dependencies point one way, lowest first: checkpoint I/O
(:mod:`mmfish.checkpoint`, which imports no model) <- the core (:mod:`mmfish.core`: the
skeleton, the layers, the argument checks, the registry of families) <- the families
(:mod:`mmfish.families`) <- conversion and the rest. The import graph counts every ``import``
statement (at module level or inside functions) and every import by name
(``importlib.import_module``, ``__import__``, a string naming an mmfish module): it has no
cycle, and no edge points up. The library does not import the tooling of the checkout
(``mmfish_tools``), which the wheel leaves out."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'mmfish'
TOOLING = 'mmfish_tools'

#: the layers, lowest first, and what none of a layer's modules may reach (directly or not)
CHECKPOINT_IO, CORE, FAMILIES, CONVERSION = ('mmfish.checkpoint', 'mmfish.core',
                                             'mmfish.families', 'mmfish.weights')
MODELS = (CORE, FAMILIES, 'mmfish.models', CONVERSION)
FORBIDDEN = {
    CHECKPOINT_IO: MODELS,                       # checkpoint I/O imports no model
    CORE: (FAMILIES, 'mmfish.models', CONVERSION, 'mmfish.variants'),  # nor a family
    FAMILIES: (CONVERSION,),                     # the families never import conversion
}

#: strings that MMEngine imports: a registry's ``locations``, the package faces it imports to
#: register the scope when a config names ``mmfish.X`` before anything imported mmfish
REGISTRY_LOCATIONS = {('mmfish.registry', 'mmfish.models'), ('mmfish.registry', 'mmfish.engine')}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _modules() -> dict:
    return {_module_name(p): p for p in PACKAGE.rglob('*.py')}


def _absolute(name: str, is_package: bool, module: str, level: int) -> str:
    """``module`` imported with ``level`` leading dots from the module ``name``."""
    if not level:
        return module
    parent = name.split('.')
    parent = parent[:len(parent) - level + (1 if is_package else 0)]
    return '.'.join(parent + ([module] if module else []))


def _string(node) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _by_name(name: str, is_package: bool, node: ast.Call):
    """What a call imports by name: ``importlib.import_module(NAME[, package])`` (relative
    names resolved against the calling module's package) or ``__import__(NAME)``; None for
    other calls. A name that is not a constant string is returned as ``'?'``."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', None)
    if called not in ('import_module', '__import__') or not node.args:
        return None
    target = _string(node.args[0])
    if target is None:
        return '?'
    if called == 'import_module' and target.startswith('.'):
        level = len(target) - len(target.lstrip('.'))
        # the package argument is the calling module's package (``__package__``)
        return _absolute(name, is_package, target[level:], level)
    return target


def dynamic_imports(name: str, path: Path, modules: dict) -> set:
    """``(kind, target)`` for every import by name in ``path``: ``'call'`` for
    ``importlib.import_module`` / ``__import__``, ``'string'`` for a string constant that
    names an mmfish module (``'mmfish.models'``, handed to something that imports it)."""
    is_package = path.name == '__init__.py'
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            target = _by_name(name, is_package, node)
            if target is not None:
                found.add(('call', target))
        elif (text := _string(node)) and '.' in text and text.strip() in modules:
            found.add(('string', text.strip()))  # 'mmfish' alone is the registries' scope
    return found


def _imports(name: str, path: Path, modules: dict) -> set:
    """The mmfish modules that ``path`` imports anywhere in its code, by statement or by
    name."""
    is_package = path.name == '__init__.py'
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, is_package, node.module or '', node.level)
            # 'from pkg import mod' imports pkg.mod when that is a module
            targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base
                       for a in node.names]
        else:
            continue
        found |= _with_parents(name, targets, modules)
    dynamic = [t for kind, t in dynamic_imports(name, path, modules)
               if (name, t) not in REGISTRY_LOCATIONS]
    return found | _with_parents(name, dynamic, modules)


def _with_parents(name: str, targets, modules: dict) -> set:
    found = set()
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
    assert len(graph) > 20 and graph['mmfish.weights.conversion']  # the graph is read
    assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + '.')


def reached(graph: dict, package: str) -> set:
    """Every module that the modules of ``package`` import, directly or not."""
    found, todo = set(), [m for m in graph if _inside(m, package)]
    while todo:
        module = todo.pop()
        if module not in found:
            found.add(module)
            todo.extend(graph[module])
    return found


@pytest.mark.parametrize('layer', sorted(FORBIDDEN))
def test_no_layer_imports_a_layer_above_it(layer):
    graph = _without_package_inits(import_graph())
    assert any(_inside(m, layer) for m in graph)  # the layer exists
    upward = sorted(m for m in reached(graph, layer)
                    if any(_inside(m, above) for above in FORBIDDEN[layer]))
    assert not upward, f'{layer} reaches {upward}'


def test_the_imports_by_name_are_read(tmp_path):
    modules = {'mmfish.weights': None, 'mmfish.weights.family': None}
    source = ("import importlib\n"
              "importlib.import_module('..weights.family', __package__)\n"
              "__import__('mmfish.weights')\n"
              "x = 'mmfish.weights.family'\n"
              "importlib.import_module(name)\n")
    path = tmp_path / 'pretrained.py'
    path.write_text(source)
    found = dynamic_imports('mmfish.checkpoint.pretrained', path, modules)
    assert found == {('call', 'mmfish.weights.family'), ('call', 'mmfish.weights'),
                     ('string', 'mmfish.weights'), ('string', 'mmfish.weights.family'),
                     ('call', '?')}


def test_the_only_imports_by_name_are_the_registry_locations():
    """mmfish imports nothing by name to get around the direction: the strings MMEngine's
    registry imports are the only ones, and they lead into the package faces."""
    modules = _modules()
    found = {(name, target) for name, path in modules.items()
             for _, target in dynamic_imports(name, path, modules)}
    assert found == REGISTRY_LOCATIONS


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


def test_importing_the_models_loads_no_layer_above_the_plugin_and_no_toolbox():
    """``import mmfish.models`` runs ``import mmfish``, whose plugin (:mod:`mmfish.plugin`)
    needs the ``mmfish://`` scheme and the load report of :mod:`mmfish.weights`; nothing of
    the layers above (inference, export, the training runtime), no toolbox and no tooling is
    loaded with the models."""
    code = ('import sys, mmfish.models\n'
            'print(sorted(m for m in sys.modules if m.startswith(('
            '"mmfish.apis", "mmfish.deploy", "mmfish.engine", "mmfish_tools", "mmdet", "mmseg", '
            '"mmpretrain", "mmpose", "onnx", "timm"))))\n'
            'print("mmfish.weights.hub" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ['[]', 'True']

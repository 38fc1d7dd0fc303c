"""Every public backbone documents each argument with its type and default, and its example
runs as written."""
import doctest
import inspect

import pytest

from mmfish.core.skeleton import ResNetSkeleton
from mmfish.models import FishNet, FishNeXt, Res2Net, ResNeSt

PUBLIC = [FishNet, FishNeXt, Res2Net, ResNeSt]


@pytest.mark.parametrize('cls', PUBLIC + [ResNetSkeleton], ids=lambda c: c.__name__)
def test_every_argument_is_documented_with_type_and_default(cls):
    doc = inspect.getdoc(cls)
    args = doc.split('Args:', 1)[1]
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == 'self':
            continue
        if param.kind == param.VAR_KEYWORD:
            assert f'**{name}:' in args, name
            continue
        entry = _entry(args, name)
        assert entry, f'{cls.__name__}: {name} is not documented as "{name} (type): ..."'
        if param.default is not inspect.Parameter.empty:
            assert 'Defaults to' in entry, f'{cls.__name__}: {name} has no default documented'


def _entry(args: str, name: str) -> str:
    """The text of one argument's entry (up to the next argument)."""
    lines, found = [], False
    for line in args.splitlines():
        if line.startswith(f'    {name} ('):
            found = True
        elif found and line.startswith('    ') and not line.startswith('        '):
            break
        if found:
            lines.append(line)
    return '\n'.join(lines)


@pytest.mark.parametrize('cls', PUBLIC, ids=lambda c: c.__name__)
def test_the_example_runs(cls):
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(cls, cls.__name__, globs={})
    assert tests and tests[0].examples
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f'{runner.failures} of {runner.tries} examples failed'

"""The converter commands in the README and the docs write the files the configs load: every
``python -m mmfish.convert SRC DST`` names a DST under ``checkpoints/`` that is a published
variant's, and every checkpoint a config loads is one such command's output."""
import re

from mmfish.variants import VARIANTS

from .conftest import REPO

COMMAND = re.compile(r'python -m mmfish\.convert ([^\s`|]+) ([^\s`|]+)')
DOCS = ['README.md', 'docs/converters.md', 'docs/downstream.md', 'docs/models.md']


def _commands():
    found = []
    for doc in DOCS:
        for src, dst in COMMAND.findall((REPO / doc).read_text()):
            if dst != 'DST':  # the generic usage line
                found.append((doc, src, dst))
    return found


def _config_checkpoints():
    names = set()
    for path in (REPO / 'configs').rglob('*.py'):
        names.update(re.findall(r"checkpoints/[\w.-]+_mmfish\.pth", path.read_text()))
    return names


def test_documented_commands_write_what_the_configs_load():
    commands = _commands()
    assert len(commands) >= len(VARIANTS)  # the model table has one per variant
    written = {dst for _, _, dst in commands}
    expected = {f'checkpoints/{name}_mmfish.pth' for name in VARIANTS}
    for doc, src, dst in commands:
        assert dst in expected, f'{doc}: {src} -> {dst}, not a variant\'s checkpoint name'
    loaded = _config_checkpoints()
    assert loaded and loaded <= written | expected
    missing = sorted(loaded - written)
    assert not missing, f'configs load {missing}, which no documented command writes'


def test_released_files_table_is_current():
    """docs/converters.md's table of released files is the one ``tools/model_table.py
    --files-only`` writes from mmfish/variants.py."""
    from mmfish.tooling.model_table import FILES_BEGIN, FILES_END, format_files
    text = (REPO / 'docs' / 'converters.md').read_text()
    current = text.split(FILES_BEGIN)[1].split(FILES_END)[0].strip()
    assert current == format_files(), 'run python tools/model_table.py --files-only'

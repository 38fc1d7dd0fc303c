"""``import mmfish`` makes exactly the changes to MMEngine that :mod:`mmfish.plugin` lists, and
its modules change nothing when imported on their own (each change is made once, by
``plugin.apply``)."""
import subprocess
import sys
import textwrap

from tests.conftest import REPO


def test_each_listed_change_is_in_effect_after_import_mmfish():
    code = textwrap.dedent("""
        import torch
        from mmengine.logging import HistoryBuffer
        from mmengine.runner import Runner
        from mmengine.runner.checkpoint import CheckpointLoader
        import mmengine.runner.checkpoint as mmengine_checkpoint

        def loader(name):
            return CheckpointLoader._get_checkpoint_loader(name)

        before = (loader('x.pth'), loader('http://h/x.pth'), Runner.load_checkpoint,
                  Runner.resume, HistoryBuffer in torch.serialization.get_safe_globals())
        assert before[-1] is False
        import mmfish
        from mmfish import hub, plugin
        from mmfish.checkpoint import compat
        from mmfish.weights import load_report
        assert [c.__name__ for c, _ in plugin.CHANGES] == [
            'allow_mmengine_checkpoints', 'name_unreadable_checkpoints', 'register_scheme',
            'install']
        assert all(len(why) > 40 for _, why in plugin.CHANGES)
        assert HistoryBuffer in torch.serialization.get_safe_globals()
        assert loader('x.pth') is compat.load_from_local is not before[0]
        assert loader('http://h/x.pth') is compat.load_from_url is not before[1]
        assert mmengine_checkpoint.load_from_http is compat.load_from_url
        assert loader('mmfish://resnest50') is hub.load_from_mmfish
        assert Runner.load_checkpoint is not before[2] and Runner.resume is not before[3]
        assert Runner.load_checkpoint._mmfish_load_report
        wrapped = Runner.load_checkpoint
        plugin.apply()  # again: nothing changes
        assert Runner.load_checkpoint is wrapped
        print('ok')
    """)
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.strip().endswith('ok'), out.stderr[-3000:]


def test_the_changes_are_made_in_one_place():
    """No module of mmfish but the plugin makes a change when imported: the calls the plugin
    lists appear at module level nowhere else."""
    names = ('allow_mmengine_checkpoints()', 'name_unreadable_checkpoints()',
             'register_scheme()', 'install()', 'plugin.apply()')
    for path in sorted((REPO / 'mmfish').rglob('*.py')):
        top_level = [line for line in path.read_text().splitlines()
                     if line.strip() in names and not line.startswith((' ', '\t'))]
        expected = ['plugin.apply()'] if path == REPO / 'mmfish' / '__init__.py' else []
        assert top_level == expected, (path, top_level)

"""A ``CheckpointHook`` whose checkpoints are never half-written.

MMEngine 0.10.7's ``CheckpointHook`` has three windows in which a process killed while saving
(SIGKILL, out of memory, a preempted job) leaves a work dir that ``--resume`` cannot use:

1. ``Runner.save_checkpoint`` serialises the checkpoint in memory, then ``LocalBackend.put``
   opens the final path (``iter_N.pth``) and writes it there: killed during the write, the file
   is truncated, and ``torch.load`` fails on it.
2. With ``max_keep_ckpts``, the oldest kept checkpoint is deleted *before* the new one is
   written, so a kill during the write can leave no complete checkpoint at all, while
   ``last_checkpoint`` still names the deleted file.
3. ``last_checkpoint`` itself is rewritten in place (truncated, then written).

:class:`AtomicCheckpointHook` saves every checkpoint (periodic, last and best) to a hidden
temporary file beside its destination, flushes it to disk (``fsync``), renames it into place
(``os.replace``, atomic on POSIX and Windows within one file system) and syncs the directory;
only then does it update ``last_checkpoint`` (the same way) and delete the checkpoints that
``max_keep_ckpts`` drops. At every instant each ``*.pth`` in the work dir is complete and
``last_checkpoint`` names a complete checkpoint (or does not exist yet). A temporary file left
by a killed save is removed when the next run starts.

Only local work dirs are handled this way; for other storage backends (``backend_args`` naming
a remote store) the hook behaves exactly as MMEngine's.
"""
import os.path as osp
from contextlib import contextmanager
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from ..checkpoint.io import publish_file, remove_stale_parts, write_text_atomic
from ..registry import HOOKS

__all__ = ['AtomicCheckpointHook', 'publish_file', 'write_text_atomic']

#: a checkpoint save in progress goes to ``<dir>/.<name>.part`` (written by MMEngine)
PART_PREFIX, PART_SUFFIX = '.', '.part'


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """MMEngine's ``CheckpointHook`` (same arguments, same files) with atomic saves.

    Use it in place of the default checkpoint hook::

        default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook',
                                             interval=1, max_keep_ckpts=3))

    See the module documentation for what it changes.
    """

    def _is_local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._is_local() and is_main_process() and osp.isdir(self.out_dir):
            # what a killed save left behind; the checkpoints themselves are complete
            for path in Path(self.out_dir).glob(f'{PART_PREFIX}*.pth{PART_SUFFIX}'):
                if path.is_file():
                    runner.logger.warning(f'Removing {path}, left by an interrupted save.')
                    path.unlink()
            remove_stale_parts(runner.work_dir, runner.logger.warning)  # last_checkpoint

    @contextmanager
    def _atomic_saves(self, runner):
        """Route ``runner.save_checkpoint`` through a temporary file while in this block."""
        current = runner.save_checkpoint
        if getattr(current, '_mmfish_atomic', False):  # nested: already routed
            yield
            return

        def save_checkpoint(out_dir, filename, *args, **kwargs):
            tmp_name = f'{PART_PREFIX}{filename}{PART_SUFFIX}'
            current(out_dir, tmp_name, *args, **kwargs)  # writes on the main process only
            if is_main_process():
                publish_file(self.file_backend.join_path(out_dir, tmp_name),
                             self.file_backend.join_path(out_dir, filename))

        save_checkpoint._mmfish_atomic = True
        runner.save_checkpoint = save_checkpoint
        try:
            yield
        finally:
            del runner.save_checkpoint  # back to the Runner's method

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self._is_local():
            return super()._save_best_checkpoint(runner, metrics)
        with self._atomic_saves(runner):
            super()._save_best_checkpoint(runner, metrics)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._is_local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        # the bookkeeping of CheckpointHook._save_checkpoint_with_step, but the checkpoint
        # that max_keep_ckpts drops is deleted only once the new one is complete
        dropped = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        with self._atomic_saves(runner):
            runner.save_checkpoint(
                self.out_dir, ckpt_filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in dropped:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # checkpoints saved by DeepSpeed
                self.file_backend.rmtree(path)

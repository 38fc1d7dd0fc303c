"""Integrity of downloaded checkpoints: released files carry the first hex digits of their
sha256 in their names (``resnest50-528c19ca.pth``, ``res2net101_v1b_26w_4s-0812c246.pth``,
mmdet's ``..._20200205-d4b0c5d6.pth``), as ``torch.hub`` names them; mmpose's
``publish_model.py`` puts its date after them (``resnest50_coco_256x192-6e65eece_20210320.pth``)."""
import hashlib
import os.path as osp
import re
from typing import Optional

#: ``<name>-<hex digits>.<ext>``: the hash prefix of torch.hub's and OpenMMLab's file names
#: (mmpose's: ``<name>-<hex digits>_<yyyymmdd>.pth``)
HASH_IN_NAME = re.compile(r'-(?P<prefix>[0-9a-f]{8,64})(?:_\d{8})?\.[A-Za-z0-9.]+$')


def name_hash_prefix(path: str) -> Optional[str]:
    """The sha256 prefix that the file's name carries, or None."""
    m = HASH_IN_NAME.search(osp.basename(str(path)))
    return m.group('prefix') if m else None


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def check_name_hash(path: str, error: type) -> Optional[str]:
    """When the file's name carries a sha256 prefix, check the file against it: return the
    file's sha256 when it matches (None when the name has no prefix) and raise ``error`` when
    it does not, which is what a truncated, corrupt or swapped download gives."""
    prefix = name_hash_prefix(path)
    if prefix is None or not osp.isfile(path) or osp.getsize(path) == 0:
        return None  # nothing to hash: reading the file says what is wrong with it
    digest = file_sha256(path)
    if not digest.startswith(prefix):
        raise error(
            f'{path}: the name says the file\'s sha256 begins with {prefix} (as released files '
            f'are named), but its sha256 is {digest} ({osp.getsize(path)} bytes): the download '
            f'is truncated or corrupt, or another file has this name. Download it again; if '
            f'the hex digits in the name are not a hash, convert with --no-check-hash')
    return digest

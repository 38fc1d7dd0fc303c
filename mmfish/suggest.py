"""The "did you mean" of every message that refuses a name: the closest valid one."""
import difflib
from typing import Iterable, Optional


def closest(name: str, valid: Iterable[str]) -> Optional[str]:
    """The entry of ``valid`` closest to ``name`` (:func:`difflib.get_close_matches`'s
    default cutoff), or None."""
    found = difflib.get_close_matches(name, list(valid), n=1)
    return found[0] if found else None

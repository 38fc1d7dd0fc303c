"""Generated parts of the docs: a table between two markers of a markdown file, replaced by
the tool that measures it (``tools/model_table.py``, ``tools/run_tiny_twins.py``,
``tools/benchmark.py``)."""
import re
from pathlib import Path

from mmfish.checkpoint.io import write_text_atomic


def update_doc(path: str, table: str, begin: str, end: str) -> None:
    """Replace the text between the ``begin`` and ``end`` markers of ``path`` by ``table``
    (the file is rewritten atomically)."""
    text = Path(path).read_text()
    if begin not in text or end not in text:
        raise ValueError(f'{path} has no {begin} ... {end} markers')
    new = re.sub(re.escape(begin) + '.*?' + re.escape(end),
                 lambda _: f'{begin}\n{table}\n{end}', text, flags=re.S)
    write_text_atomic(path, new)

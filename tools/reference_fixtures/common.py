"""What the fixture generators share: tensors drawn from a few values (so that gzip shrinks
the files), BatchNorm statistics drawn the same way, the key/shape/dtype layout of a state dict
(tests/data/official/state_dict_layouts*.json.gz) and legacy-serialised, gzip-compressed
checkpoints. The generators run as scripts from this folder, which puts it on ``sys.path``."""
import gzip
import io

import torch
import torch.nn as nn


def levels(shape, gen: torch.Generator, step: float, count: int = 16) -> torch.Tensor:
    """Random multiples of ``step``: ``count`` distinct values centred on 0."""
    return (torch.randint(-count // 2, count // 2, shape, generator=gen) + 0.5) * step


def randomize_batchnorm(m: nn.BatchNorm2d, gen: torch.Generator) -> None:
    """Weight, bias and running statistics of a BatchNorm, each drawn from 16 values."""
    c = (m.num_features, )
    m.weight.copy_(1 + levels(c, gen, 1 / 32))
    m.bias.copy_(levels(c, gen, 1 / 64))
    m.running_mean.copy_(levels(c, gen, 1 / 64))
    m.running_var.copy_(1 + levels(c, gen, 1 / 32))


def state_layout(state: dict) -> list:
    """``[[key, shape, dtype], ...]`` of a state dict, as the layout files store it."""
    return [[k, list(v.shape), str(v.dtype).replace('torch.', '')] for k, v in state.items()]


def write_gzip(obj, path: str) -> None:
    """``torch.save`` in the legacy (pre-zip) serialisation, gzip-compressed (no timestamp)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    with open(path, 'wb') as f, gzip.GzipFile(fileobj=f, mode='wb', mtime=0,
                                              filename='') as gz:
        gz.write(buffer.getvalue())

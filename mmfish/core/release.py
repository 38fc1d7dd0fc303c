"""The types of a family's rows: a published variant (:class:`Variant`: its backbone
arguments, the official model it reproduces, its published figures and released files), a
model a toolbox trained with the family's backbone (:class:`TrainedModel`) and a model the
benchmark times against other implementations of it (:class:`Benchmarked`). Each family declares
its rows in its package; :mod:`mmfish.variants` assembles them into the one table that the
configs, the converters and the docs read."""
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, Optional, Sequence, Tuple
from urllib.parse import unquote, urlparse

from ..checkpoint.sources import Source, same_path_copies

__all__ = ['Variant', 'TrainedModel', 'Benchmarked', 'Peer', 'OPENMMLAB', 'trained', 'with_urls', 'with_copies',
           'official_source']


def official_source(url: Optional[str]) -> Tuple[Source, ...]:
    """The release's own URL as the first source (none when the file has no download)."""
    return (Source(url=url, host=urlparse(url).netloc, evidence='the release (its row)'), ) \
        if url else ()


@dataclass(frozen=True)
class Variant:
    name: str  #: config stem, ``configs/<family>/<name>_<batch>_in1k.py``
    official: str  #: the official model's name
    backbone: dict  #: mmfish backbone arguments (unscoped ``type``)
    params_m: float  #: published parameters, millions (to the published number of digits)
    top1: Optional[float]  #: published ImageNet-1k top-1 (%) at ``input_size``; None: no weights
    input_size: int = 224
    batch: str = '8xb32'  #: GPUs x images per GPU of the official recipe
    extra: dict = field(default_factory=dict)
    #: the released weight files, named as released (``<name>-<sha256 prefix>.pth``)
    files: Tuple[str, ...] = ()
    #: where each of :attr:`files` is downloaded from
    urls: Tuple[str, ...] = ()
    #: other sources of the first file, tried in order after its URL (and after the same path
    #: on another host): same-name copies, then Hub copies with their pins
    copies: Tuple[Source, ...] = ()
    #: the key layout of the first file (the converter's ``meta['mmfish']['layout']``), where
    #: it tells the file from another variant's of the same shapes: ``mmfish://<name>`` refuses
    #: a file in another layout (the check of a file without a digest). None: any layout
    layout: Optional[str] = None

    @property
    def family(self) -> str:
        """The family's converter name (``--family``), the configs' folder."""
        return self.backbone['type'].lower()

    @property
    def config(self) -> str:
        return f'configs/mmpretrain/{self.family}/{self.name}_{self.batch}_in1k.py'

    @property
    def url(self) -> Optional[str]:
        """Where the first released file is downloaded from."""
        return self.urls[0] if self.urls else None

    @property
    def sources(self) -> Tuple[Source, ...]:
        """Every source of the first released file, in the order tried: its URL, the same path
        on another host, then :attr:`copies`."""
        return official_source(self.url) + same_path_copies(self.url) + self.copies

    def convert_command(self, src: Optional[str] = None) -> str:
        """The command that converts the released weights (by default the released file, as
        named when released) into the file the configs load."""
        src = src or (self.files[0] if self.files else 'SRC')
        return f'python -m mmfish.convert {src} checkpoints/{self.name}_mmfish.pth'


@dataclass(frozen=True)
class TrainedModel:
    """A detector, segmenter, pose model or classifier that a toolbox trained with one of
    mmfish's backbones and published (its metafile: name, config, weights, scores)."""
    toolbox: str  #: ``'mmdet'``, ``'mmseg'``, ``'mmpose'`` or ``'mmpretrain'``
    model: str  #: the model's name in the toolbox's metafile
    toolbox_config: str  #: the toolbox's config, under its ``configs/``
    url: str  #: the toolbox's download URL of the weights
    dataset: str  #: what the scores were measured on
    scores: dict  #: the published scores (the metafile's metric names)
    family: str = ''  #: the backbone's family (its registered type, ``'ResNeSt'``)
    #: same-name copies of the weights, tried after the URL and the same path on another host
    copies: Tuple[Source, ...] = ()

    @property
    def sources(self) -> Tuple[Source, ...]:
        """Every source of the weights, in the order tried: the toolbox's URL, the same path on
        OpenMMLab's older bucket, then :attr:`copies`."""
        return official_source(self.url) + same_path_copies(self.url) + self.copies

    @property
    def name(self) -> str:
        """``<toolbox>/<model>``: ``mmfish://<name>``."""
        return f'{self.toolbox}/{self.model}'

    @property
    def file(self) -> str:
        """The released file's name (``...-<sha256 prefix>.pth``, unquoted)."""
        return unquote(self.url.rsplit('/', 1)[1])

    @property
    def config(self) -> str:
        """The mmfish config that builds the model (it inherits the toolbox's own)."""
        return f'configs/{self.toolbox}/trained/{self.model}.py'

    @property
    def tasks(self) -> dict:
        """``{metric: task}`` of :attr:`scores`, with OpenMMLab's metafiles' task names."""
        task = {'mmseg': 'Semantic Segmentation', 'mmpose': 'Body 2D Keypoint',
                'mmpretrain': 'Image Classification'}.get(self.toolbox)
        return {m: task or ('Instance Segmentation' if m.startswith('mask')
                            else 'Object Detection') for m in self.scores}


#: where each toolbox serves its trained models, in the order the table lists them
OPENMMLAB = {'mmdet': 'https://download.openmmlab.com/mmdetection/v2.0/',
             'mmseg': 'https://download.openmmlab.com/mmsegmentation/v0.5/',
             'mmpose': 'https://download.openmmlab.com/mmpose/top_down/',
             'mmpretrain': 'https://download.openmmlab.com/mmclassification/v0/'}


def trained(family: str, toolbox: str, model: str, config: str, path: str, dataset: str,
            scores: dict, copies: Sequence[Source] = ()) -> TrainedModel:
    """A trained model of ``family``: ``path`` is the weights' URL under the toolbox's
    downloads."""
    return TrainedModel(toolbox, model, config, OPENMMLAB[toolbox] + path, dataset, scores,
                        family, tuple(copies))


def with_copies(rows: Sequence[Variant], copies: dict) -> Tuple[Variant, ...]:
    """``rows`` with the other sources of their first file: ``copies[variant name]``."""
    return tuple(replace(v, copies=tuple(copies.get(v.name, ()))) for v in rows)


def with_urls(rows: Sequence[Variant], url_of: Callable[[str], str]) -> Tuple[Variant, ...]:
    """``rows`` with the download URL of each released file (``url_of(file name)``)."""
    return tuple(replace(v, urls=tuple(url_of(f) for f in v.files)) for v in rows)


@dataclass(frozen=True)
class Peer:
    """Another implementation of a benchmarked model, as data that ``tools/benchmark.py``
    builds (it knows how each kind is built and saved; nothing here imports the peer)."""
    #: ``'toolbox'`` (``cfg`` built in the scope of the toolbox ``name``), ``'timm'`` (timm's
    #: model ``name``) or ``'official'`` (the authors' code, ``name`` its factory function)
    kind: str
    name: str
    #: the toolbox's backbone config (``'toolbox'`` only)
    cfg: Dict[str, Any] = field(default_factory=dict)
    #: ``module -> module``: what is done to the built peer so that it computes the official
    #: model (said in ``note``)
    adjust: Optional[Callable[[Any], Any]] = None
    note: str = ''


@dataclass(frozen=True)
class Benchmarked:
    """A model of the family that the benchmark times against its peers: mmfish's backbone
    (``backbone``, its levels out) or mmfish's classifier (``classifier``: the variant whose
    in1k config builds it, logits out)."""
    name: str
    peers: Tuple[Peer, ...]
    backbone: Optional[Dict[str, Any]] = None
    classifier: Optional[str] = None


"""The demo's picture of predictions: held-out images of the tiny datasets, each drawn with its
ground truth (read from the dataset's own annotation files) beside what the trained demo twin
predicts for it (the picture its toolbox's inferencer draws, :func:`mmfish.apis.infer`), one
row per toolbox, with the toolbox, the model and its test metrics above each row.

:func:`held_out` reads the ground truth of the val split of each tiny dataset (also what
tests/apis/test_inference.py checks the predictions against); :func:`predictions_picture`
composes the PNG from :func:`mmfish_tools.tiny_twins.run_twin` results.
"""
import json
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import checkout_root
from .tiny_data import PathLike, tiny_classes
from .tiny_pose import SKELETON

#: the colour of each shape class (circle, square, triangle), as the tiny configs' palettes
PALETTE = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
#: the pixels of each cell of the picture (images are scaled to fit)
CELL = 128
_GAP, _HEADER, _TITLE = 6, 18, 20


def _classify_gt(root: Path) -> List[dict]:
    lines = (root / 'imagenet' / 'meta' / 'val.txt').read_text().split()
    return [dict(image=str(root / 'imagenet' / 'val' / name), label=int(label))
            for name, label in zip(lines[::2], lines[1::2])]


def _coco_images(ann_file: Path, folder: Path) -> List[dict]:
    coco = json.loads(ann_file.read_text())
    per_image = {img['id']: [] for img in coco['images']}
    for ann in coco['annotations']:
        per_image[ann['image_id']].append(ann)
    return [dict(image=str(folder / img['file_name']), annotations=per_image[img['id']])
            for img in sorted(coco['images'], key=lambda i: i['id'])]


def _detect_gt(root: Path) -> List[dict]:
    out = []
    for sample in _coco_images(root / 'coco' / 'annotations' / 'instances_val2017.json',
                               root / 'coco' / 'val2017'):
        anns = sample.pop('annotations')
        boxes = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]
        sample.update(bboxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
                      labels=np.array([a['category_id'] - 1 for a in anns], dtype=np.int64))
        out.append(sample)
    return out


def _segment_gt(root: Path) -> List[dict]:
    images = sorted((root / 'ade20k' / 'images' / 'validation').glob('*.jpg'))
    labels = root / 'ade20k' / 'annotations' / 'validation'
    return [dict(image=str(p), seg_map=np.array(Image.open(labels / f'{p.stem}.png')))
            for p in images]


def _pose_gt(root: Path) -> List[dict]:
    out = []
    for sample in _coco_images(root / 'coco_pose' / 'annotations' /
                               'person_keypoints_val2017.json', root / 'coco_pose' / 'val2017'):
        anns = sample.pop('annotations')
        sample.update(keypoints=np.array([a['keypoints'] for a in anns],
                                         dtype=np.float32).reshape(-1, 17, 3),
                      bboxes=np.array([[x, y, x + w, y + h] for x, y, w, h in
                                       (a['bbox'] for a in anns)], dtype=np.float32))
        out.append(sample)
    return out


_READERS = dict(mmpretrain=_classify_gt, mmdet=_detect_gt, mmseg=_segment_gt, mmpose=_pose_gt)


def held_out(toolbox: str, data_root: PathLike = 'data/tiny') -> List[dict]:
    """The val split of the tiny dataset that ``toolbox``'s demo twin reads, one dict per
    image, in file order: ``image`` (its path) and its ground truth as the annotation files
    give it: ``label`` (mmpretrain, 0-based); ``bboxes`` (N x 4, x1 y1 x2 y2) and ``labels``
    (0-based; mmdet); ``seg_map`` (HxW labels, 0 the background; mmseg); ``keypoints``
    (N x 17 x 3, x y visibility) and ``bboxes`` (mmpose).

    Args:
        toolbox (str): ``mmpretrain``, ``mmdet``, ``mmseg`` or ``mmpose``.
        data_root (str): where the tiny datasets are. Defaults to ``'data/tiny'``.
    """
    if toolbox not in _READERS:
        raise ValueError(f'no tiny dataset of {toolbox!r}; the toolboxes are {list(_READERS)}')
    return _READERS[toolbox](Path(data_root))


def _font(size: int = 11):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def draw_ground_truth(toolbox: str, sample: dict) -> Image.Image:
    """The image of a :func:`held_out` sample (RGB) with its ground truth drawn: the class
    name (mmpretrain), the boxes in their class's colour (mmdet), the label map blended in the
    classes' colours (mmseg), the persons' boxes, skeletons and labelled joints (mmpose)."""
    image = Image.open(sample['image']).convert('RGB')
    draw = ImageDraw.Draw(image)
    if toolbox == 'mmpretrain':
        draw.text((2, 1), tiny_classes()[sample['label']], fill=(255, 255, 255), font=_font(10),
                  stroke_width=1, stroke_fill=(0, 0, 0))
    elif toolbox == 'mmdet':
        for box, label in zip(sample['bboxes'], sample['labels']):
            draw.rectangle(box.tolist(), outline=PALETTE[label], width=1)
    elif toolbox == 'mmseg':
        colours = np.array([(0, 0, 0), *PALETTE], dtype=np.float32)[sample['seg_map']]
        pixels = np.asarray(image, dtype=np.float32)
        shape = sample['seg_map'][..., None] > 0
        image = Image.fromarray(np.where(shape, 0.4 * pixels + 0.6 * colours,
                                         pixels).astype(np.uint8))
    else:
        for box, person in zip(sample['bboxes'], sample['keypoints']):
            draw.rectangle(box.tolist(), outline=(0, 255, 0), width=1)
            for a, b in SKELETON:
                if person[a - 1, 2] > 0 and person[b - 1, 2] > 0:
                    draw.line([tuple(person[a - 1, :2]), tuple(person[b - 1, :2])],
                              fill=(255, 128, 0), width=1)
            for x, y, v in person:
                if v > 0:
                    draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(255, 255, 0))
    return image


def _fit(image: Image.Image, cell: int) -> Image.Image:
    """``image`` scaled to fit a ``cell`` x ``cell`` square, on grey."""
    scale = cell / max(image.size)
    resized = image.resize((max(1, round(image.width * scale)),
                            max(1, round(image.height * scale))), Image.NEAREST)
    canvas = Image.new('RGB', (cell, cell), (40, 40, 40))
    canvas.paste(resized, ((cell - resized.width) // 2, (cell - resized.height) // 2))
    return canvas


def _row_title(result: dict) -> str:
    from .tiny_twins import twin_by_name
    twin = twin_by_name(result['twin'])
    scores = ', '.join(f'{k} {v:.3g} (chance {twin.chance[k]:.3g})'
                       for k, v in result['metrics'].items() if v is not None)
    return f'{twin.toolbox}  {twin.name}  test: {scores}'


def predict_row(result: dict, data_root: PathLike, count: int, work_dir: PathLike,
                root: Optional[PathLike] = None, device: str = 'cpu',
                cell: int = CELL) -> List[tuple]:
    """(ground-truth picture, prediction picture) of the first ``count`` held-out images of
    one :func:`run_twin` result: its checkpoint run by its toolbox's inferencer
    (:func:`mmfish.apis.infer`, pictures drawn into ``work_dir``; MMPretrain's drawn at
    ``cell`` pixels, where its text is legible)."""
    from mmfish.apis import infer

    from .tiny_twins import twin_by_name
    twin = twin_by_name(result['twin'])
    samples = held_out(twin.toolbox, data_root)[:count]
    out = infer(str(checkout_root(root) / twin.config), result['checkpoint'],
                [s['image'] for s in samples], out_dir=str(work_dir), device=device,
                toolbox=twin.toolbox, **(dict(resize=cell) if twin.toolbox == 'mmpretrain'
                                         else {}))
    return [(draw_ground_truth(twin.toolbox, s), Image.open(p).convert('RGB'))
            for s, p in zip(samples, out['pictures'])]


def cell_box(row: int, pair: int, prediction: bool, cell: int = CELL) -> tuple:
    """Where :func:`compose` puts a picture: (left, top, right, bottom) of the ground truth
    (``prediction`` False) or the prediction of pair ``pair`` of row ``row``."""
    left = _GAP + pair * (2 * cell + 3 * _GAP) + (cell + _GAP if prediction else 0)
    top = _TITLE + row * (_HEADER + cell + _GAP) + _HEADER
    return left, top, left + cell, top + cell


def compose(rows: Sequence[tuple], cell: int = CELL) -> Image.Image:
    """One picture of ``rows`` of (title, [(ground truth, prediction), ...]): per row, the
    title, then each pair side by side (:func:`cell_box`)."""
    pairs = max(len(cells) for _, cells in rows)
    width = cell_box(0, pairs - 1, True, cell)[2] + 2 * _GAP
    height = cell_box(len(rows) - 1, 0, True, cell)[3] + _GAP
    canvas = Image.new('RGB', (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((_GAP, 3), 'each pair: ground truth (annotation files) | prediction (the '
              "toolbox's inferencer)", fill=(0, 0, 0), font=_font(12))
    for r, (title, cells) in enumerate(rows):
        draw.text((_GAP, cell_box(r, 0, False, cell)[1] - _HEADER + 2), title, fill=(0, 0, 0),
                  font=_font(11))
        for i, (truth, predicted) in enumerate(cells):
            canvas.paste(_fit(truth, cell), cell_box(r, i, False, cell)[:2])
            canvas.paste(_fit(predicted, cell), cell_box(r, i, True, cell)[:2])
    return canvas


def predictions_picture(results: Sequence[dict], out: PathLike, data_root: PathLike = 'data/tiny',
                        count: int = 3, root: Optional[PathLike] = None, cell: int = CELL,
                        device: str = 'cpu') -> str:
    """Write one PNG of the demo twins' predictions to ``out``; return its path.

    Args:
        results (list[dict]): :func:`mmfish_tools.tiny_twins.run_twin` results (their
            ``twin``, ``checkpoint`` and ``metrics``), one row of the picture each.
        out (str): the PNG to write.
        data_root (str): where the tiny datasets are. Defaults to ``'data/tiny'``.
        count (int): held-out images per row. Defaults to 3.
        root (str, optional): the checkout whose configs the twins name. Defaults to None
            (the current directory).
        cell (int): the side of each picture, in pixels. Defaults to :data:`CELL`.
        device (str): where the models run. Defaults to ``'cpu'``.
    """
    if count < 1:
        raise ValueError(f'count must be at least 1 image per row, got {count}')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, result in enumerate(results):
            cells = predict_row(result, data_root, count, Path(tmp) / str(i), root, device,
                                cell)
            rows.append((_row_title(result), cells))
        picture = compose(rows, cell)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours: a third of the RGB file's size for these noisy backgrounds
    picture.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return str(out)


def load_results(work_root: PathLike, names: Sequence[str]) -> List[dict]:
    """The results that :func:`run_twin` left in ``<work_root>/<name>/tiny_run.json`` for each
    twin name of ``names`` (FileNotFoundError naming the missing ones and what writes them)."""
    from .tiny_twins import RESULT_FILE
    paths = [Path(work_root) / name / RESULT_FILE for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f'no demo results at {", ".join(missing)}: run `python '
                                'tools/demo.py --work-dir WORK_DIR` first')
    return [json.loads(p.read_text()) for p in paths]


__all__ = ['CELL', 'cell_box', 'compose', 'draw_ground_truth', 'held_out', 'load_results',
           'predict_row', 'predictions_picture']

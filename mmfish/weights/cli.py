"""The command line of ``python -m mmfish.convert`` and of the
``tools/model_converters/<family>2mmfish.py`` wrappers."""
import argparse
import sys
from typing import Callable, Optional

from ..checkpoint.io import ConversionError, first_line
from ..core.family import FAMILIES
from ..core.layers.dcn import DCN_TYPES
from .conversion import convert_checkpoint
from .decide import variants_of

__all__ = ['main', 'exit_status']


def main(family: Optional[str] = None, argv=None) -> int:
    """Convert one checkpoint as the command line ``argv`` says; the exit status. ``family``
    (a converter name) is forced by the per-family wrappers."""
    if family is None:
        prog = 'python -m mmfish.convert'
        names = [f.name for f in FAMILIES.values()]
        description = (f'Convert a {", ".join(names[:-1])} or {names[-1]} checkpoint '
                       '(official releases, PaddleClas, timm, mmdet, mmseg, mmpretrain) into an '
                       'mmfish checkpoint. The family and the variant are detected from the '
                       'weights; what they cannot show is decided from the released variants '
                       'or refused (docs/converters.md).')
    else:
        prog = None
        description = (f'Convert a {FAMILIES[family].name} checkpoint ('
                       + '; '.join(FAMILIES[family].layouts) + ') into an mmfish checkpoint.')
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('src', help='source checkpoint')
    parser.add_argument('dst', help='output checkpoint (.pth), written atomically')
    if family is None:
        parser.add_argument('--family', choices=sorted(FAMILIES),
                            help='the family of SRC (default: detected from its keys)')
    families = [FAMILIES[family]] if family else list(FAMILIES.values())
    names = sorted({v.name for f in families for v in variants_of(f)})
    parser.add_argument('--variant', choices=names, metavar='NAME',
                        help='the released variant, when the weights fit several (the '
                             'converter says so and lists them): ' + ', '.join(names))
    hidden = sorted({(name, f.name, f.hidden_choices.get(name)) for f in families
                     for name in f.hidden}, key=str)
    for name, fam_name, choices in hidden:
        help = (f'{fam_name}: set {name}, which the weights cannot show (default: decided from '
                f'the file\'s layout, its config or the released variants, or refused)')
        if choices:
            parser.add_argument(f'--{name.replace("_", "-")}', choices=choices, default=None,
                                help=help)
        else:
            parser.add_argument(f'--{name.replace("_", "-")}', default=None, help=help,
                                action=argparse.BooleanOptionalAction)
    dcn_families = [f.name for f in families if f.dcn]
    if dcn_families:
        parser.add_argument('--dcn-type', choices=DCN_TYPES,
                            help=f'{", ".join(dcn_families)}: the type of mmdet\'s deformable '
                                 f'convolutions where their offset convs fit both (e.g. DCNv2 '
                                 f'with 2 deformable groups has the channels of DCN with 3) '
                                 f'(default: the checkpoint\'s own config decides, or the '
                                 f'conversion is refused)')
    parser.add_argument('--backbone-only', action='store_true',
                        help='keep only the backbone (and an official classifier): leave out '
                             'the necks and heads of a detector, segmenter or pose model '
                             '(default: the whole model, every other tensor carried over)')
    parser.add_argument('--no-check-hash', dest='check_hash', action='store_false',
                        help="do not check the file's sha256 against the prefix in its name")
    args = parser.parse_args(argv)
    settings = {name: getattr(args, name) for name, _, _ in hidden
                if getattr(args, name) is not None}

    def convert() -> int:
        convert_checkpoint(family or args.family, args.src, args.dst, variant=args.variant,
                           settings=settings or None, check_hash=args.check_hash,
                           dcn_type=getattr(args, 'dcn_type', None),
                           backbone_only=args.backbone_only)
        return 0

    return exit_status(convert, ConversionError, error_tail='\nnothing was written.',
                       interrupted='nothing was written.')


def exit_status(command: Callable[[], int], errors, error_tail: str = '',
                interrupted: str = 'nothing half-written was kept.',
                unexpected: bool = False) -> int:
    """Run ``command`` as a command line does: its own exit status; 1 with ``error: <message>``
    (and ``error_tail``) on stderr for one of ``errors`` (and, with ``unexpected``, for any
    other exception, its first line and no trace); 130 on Ctrl-C, saying ``interrupted``."""
    try:
        return command()
    except errors as exc:
        print(f'error: {exc}{error_tail}', file=sys.stderr)
    except KeyboardInterrupt:
        print(f'interrupted: {interrupted}', file=sys.stderr)
        return 130
    except Exception as exc:
        if not unexpected:
            raise
        print(f'error: {first_line(exc)}', file=sys.stderr)
    return 1

"""Write OpenMMLab's model index of mmfish from mmfish/variants.py: model-index.yml and
configs/mmpretrain/<family>/metafile.yml, which `mim search mmfish` reads.

    python tools/model_index.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.model_index import write

ROOT = Path(__file__).resolve().parents[1]


def main():
    for path in write(str(ROOT)):
        print(f'wrote {path}')


if __name__ == '__main__':
    main()

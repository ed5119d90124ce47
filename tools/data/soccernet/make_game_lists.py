"""Write SoccerNet-v2 game lists (train / valid / test / challenge) from the SoccerNet package.

    python tools/data/soccernet/make_game_lists.py OUT_DIR

Writes ``OUT_DIR/listgame_v2_<split>.json`` (JSON lists of ``league/season/game``), the
``ann_file`` format of the v2 configs. The v1 lists are the official ``listgame_*.npy`` files.
"""
import argparse
import os.path as osp

from vidplugins.utils.io import dump_json_atomic


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('out_dir')
    args = parser.parse_args()
    from SoccerNet.utils import getListGames
    for split in ('train', 'valid', 'test', 'challenge'):
        games = list(getListGames(split=split, task='spotting'))
        path = osp.join(args.out_dir, f'listgame_v2_{split}.json')
        dump_json_atomic(games, path, indent=0)
        print(f'{split}: {len(games)} games -> {path}')


if __name__ == '__main__':
    main()

"""Write a small SoccerNet (v1 or v2) in the official layout with a planted learnable signal.

    python tools/data/soccernet/generate_demo_data.py data/soccernet_demo [--version 1|2]
"""
from vidplugins.demo_data.soccernet import main

if __name__ == '__main__':
    main()

"""STAGE: spatio-temporal attention on graph entities, for AVA-style action detection (thesis Ch. 3).

Importing this package registers its modules in the host registries (mmaction2's MODELS, DATASETS,
METRICS; mmdet's MODELS for the end-to-end RoI head).
"""

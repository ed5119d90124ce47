"""Generators of small datasets in the real on-disk formats, with planted learnable signals.

Shared by the tests, the demos and the benchmarks.
"""
from .soccernet import generate_soccernet

__all__ = ['generate_soccernet']

"""Helpers shared by every method: atomic file writes, logging of counted skips."""

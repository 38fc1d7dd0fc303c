"""Necks: FishNet's score layers (:class:`FishScore`)."""
from .fish_score import FishScore

__all__ = ['FishScore']

"""Knowledge-distillation parts shared by the methods (privacy-preserving recognition, Ch. 5; PAS,
Ch. 6): logit KD and relational KD losses, registered in mmaction2's MODELS.
"""
from .losses import (KLDivergenceKDLoss, RelationalKDLoss, kl_divergence,  # noqa: E402
                     normalized_distances, relational_distance_loss)

__all__ = ['KLDivergenceKDLoss', 'RelationalKDLoss', 'kl_divergence', 'normalized_distances',
           'relational_distance_loss']

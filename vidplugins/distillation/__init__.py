"""Knowledge-distillation parts shared by the methods (privacy-preserving recognition, Ch. 5; PAS,
Ch. 6): logit KD and relational KD losses, registered in mmaction2's MODELS, and the student /
frozen-teacher recognizer pair both distillers build on.
"""
from .losses import (KLDivergenceKDLoss, RelationalKDLoss, kl_divergence,  # noqa: E402
                     normalized_distances, relational_distance_loss)
from .recognizer import RecognizerDistiller, load_state_dict_file, recognizer_logits  # noqa: E402

__all__ = ['KLDivergenceKDLoss', 'RelationalKDLoss', 'kl_divergence', 'normalized_distances',
           'relational_distance_loss', 'RecognizerDistiller', 'load_state_dict_file',
           'recognizer_logits']

"""Knowledge-distillation parts shared by the methods (privacy-preserving recognition, Ch. 5; PAS,
Ch. 6): logit KD and relational KD losses, registered in mmaction2's MODELS.
"""

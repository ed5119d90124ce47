"""Privacy-preserving action recognition (thesis Ch. 5): face / body obfuscation that fails closed,
and privileged knowledge distillation from a teacher that saw the original videos.

Importing this package registers its modules in mmaction2's registries.
"""

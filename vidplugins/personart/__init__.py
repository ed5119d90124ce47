"""PersonArt: cross-domain face retrieval between photos and paintings (thesis App. A.2).

Importing this package registers its model, embedders, datasets and metric in mmengine's root
registries (found from any scope, e.g. mmaction's default runtime); backbones for phi are built
from their own registries (``_scope_='mmpretrain'``).
"""
from .similarity import (attribute_similarity, combined_score, identity_similarity,  # noqa: F401
                         project, soft_attribute_similarity)
from .losses import attribute_loss, hardest_negative_hinge  # noqa: F401
from .heads import AttributeBranches  # noqa: F401
from .embedders import BackboneEmbedder, DlibFaceEmbedder  # noqa: F401
from .model import PersonArt, PersonArtDataPreprocessor  # noqa: F401
from .feedback import (FeedbackState, feature_space_warping,  # noqa: F401
                       query_point_movement)
from .gallery import CELEBA_ATTRIBUTES, FaceGallery, GallerySession  # noqa: F401
from .datasets import CelebAFaces, FaceFeatureSet, IdentityFolderFaces  # noqa: F401
from .metrics import PersonArtRetrievalMetric  # noqa: F401

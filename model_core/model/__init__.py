"""The DNM model (SPEC 3): trunks, projections, similarity map, the two normalizations,
losses for the three heads, and checkpoints. Importing this package imports torch."""
from model_core.model.config import HEADS, ModelConfig
from model_core.model.dnm import DNM, DNMOutput, build_model
from model_core.model.losses import head_loss, pick_negatives

__all__ = ["HEADS", "ModelConfig", "DNM", "DNMOutput", "build_model", "head_loss", "pick_negatives"]

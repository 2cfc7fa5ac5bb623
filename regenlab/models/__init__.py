"""Plain torch modules: conversions' networks, priors, renderers, direct baselines, metric nets."""

from regenlab.models.audio import DirectTTS, PhonemeToMel, Vocoder
from regenlab.models.classifier import ConvClassifier
from regenlab.models.diffusion import VectorDiffusion
from regenlab.models.transformer import TokenTransformer
from regenlab.models.vae import ConvVAE
from regenlab.models.vqvae import VQVAE

MODELS = {
    cls.__name__: cls
    for cls in (ConvClassifier, VectorDiffusion, TokenTransformer, ConvVAE, VQVAE, Vocoder,
                PhonemeToMel, DirectTTS)
}  # fmt: skip

__all__ = [
    "MODELS",
    "ConvClassifier",
    "ConvVAE",
    "DirectTTS",
    "PhonemeToMel",
    "TokenTransformer",
    "VQVAE",
    "VectorDiffusion",
    "Vocoder",
]

"""The image task: class label X -> image Y, through three choices of Y'.

Y' = vq          tokens ~ transformer P(Y'|class)      ->  VQ-VAE decoder
Y' = vae         latent ~ diffusion P(Y'|class)        ->  VAE decoder
Y' = downsample  low-res ~ diffusion P(Y'|class)       ->  conditional-VAE upsampler
direct           class -> pixels, a class-conditional VAE of matched size and training time
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from regenlab import metrics, viz
from regenlab.conversions.image import Downsample, VAELatent, VQTokens
from regenlab.core import (
    Direct,
    Pipeline,
    Prior,
    Renderer,
    Task,
    TaskSpec,
    Trainer,
    check_finite,
    check_sampling_args,
    register_task,
)
from regenlab.data.images import IMAGE_DATASETS, load_images
from regenlab.device import default_device, generator
from regenlab.models import VQVAE, ConvClassifier, ConvVAE, TokenTransformer, VectorDiffusion
from regenlab.tasks.image_train import ARCH, PRESETS, STAGES, train_stage
from regenlab.zoo import checkpoint_dir as zoo_checkpoint_dir
from regenlab.zoo import load_checkpoint, read_record

MAX_SIDE = 4096  # largest user image side accepted before decoding


def _labels(x: Sequence[int], n: int, device: torch.device) -> torch.Tensor:
    """Classes (B,) repeated n times each, grouped by input: (B * n,)."""
    return torch.as_tensor(list(x), dtype=torch.long, device=device).repeat_interleave(n)


def row_noise(b: int, d: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
    """N(0, I) noise (b, d) drawn row by row, so row i does not depend on the batch size."""
    return torch.stack([torch.randn(d, generator=g, device=device) for _ in range(b)])


class TokenPrior(Prior):
    """P(tokens | class) by an autoregressive transformer; Y' (B * n, h, w)."""

    name = "transformer"

    def __init__(self, model: TokenTransformer, grid: int, top_k: int = 0, guidance: float = 0.0):
        self.model, self.grid, self.top_k, self.guidance = model, grid, top_k, guidance

    def sample(self, x, n=1, temperature=1.0, seed=None):
        check_sampling_args(n, temperature)
        dev = next(self.model.parameters()).device
        g = generator(seed, dev)
        tokens = self.model.sample(_labels(x, n, dev), temperature, self.top_k, g, self.guidance)
        return tokens.view(-1, self.grid, self.grid)


class DiffusionPrior(Prior):
    """P(Y' | class) by a denoising diffusion model over the flattened Y'."""

    name = "diffusion"

    def __init__(self, model: VectorDiffusion, shape: tuple[int, ...]):
        self.model, self.shape = model, shape

    def sample(self, x, n=1, temperature=1.0, seed=None):
        check_sampling_args(n, temperature)
        dev = next(self.model.parameters()).device
        flat = self.model.sample(_labels(x, n, dev), temperature, generator(seed, dev))  # (B*n, D)
        return flat.view(-1, *self.shape)


class DecoderRenderer(Renderer):
    """Y = decoder(Y'): the renderer a learned conversion brings (a point mass: n copies)."""

    def __init__(self, conversion: VQTokens | VAELatent):
        self.conversion = conversion
        self.name = f"{conversion.name} decoder"

    def sample(self, y_prime, n=1, seed=None):
        check_sampling_args(n, 1.0)
        if not y_prime.dtype.is_floating_point:
            k = self.conversion.codebook_size
            if y_prime.numel() and (y_prime.min() < 0 or y_prime.max() >= k):
                raise ValueError(
                    f"tokens must lie in [0, {k}), got [{y_prime.min()}, {y_prime.max()}]"
                )
        else:
            check_finite(y_prime, "Y'")
        y = self.conversion.decode(y_prime.to(_device_of(self.conversion)))
        return y.repeat_interleave(n, 0)


class UpsamplerRenderer(Renderer):
    """Y ~ P(Y | low-res Y'), a conditional VAE: z ~ N(0, I), Y = decoder(z, Y')."""

    name = "learned upsampler"

    def __init__(self, model: ConvVAE, temperature: float = 1.0):
        self.model, self.temperature = model, temperature

    @torch.no_grad()
    def sample(self, y_prime, n=1, seed=None):
        check_sampling_args(n, 1.0)
        check_finite(y_prime, "Y'")
        dev = next(self.model.parameters()).device
        cond = y_prime.to(dev).clamp(0, 1).repeat_interleave(n, 0)  # (B*n, C, h, w)
        z = row_noise(len(cond), self.model.latent_dim, generator(seed, dev), dev)
        return self.model.decode(z * self.temperature, cond=cond)


class DirectVAE(Direct):
    """The direct baseline: Y = decoder(z, class), z ~ N(0, temperature^2 I)."""

    name = "direct (class-conditional VAE on pixels)"

    def __init__(self, model: ConvVAE):
        self.model = model

    @torch.no_grad()
    def sample(self, x, n=1, temperature=1.0, seed=None):
        check_sampling_args(n, temperature)
        dev = next(self.model.parameters()).device
        labels = _labels(x, n, dev)
        z = row_noise(len(labels), self.model.latent_dim, generator(seed, dev), dev)
        return self.model.decode(z * temperature, labels)


def _device_of(conv: VQTokens | VAELatent) -> torch.device:
    net = conv.vqvae if isinstance(conv, VQTokens) else conv.vae
    return next(net.parameters()).device


def checkpoint_dir(source: str | Path, dataset: str) -> Path:
    """``shipped``, ``user`` or a folder holding ``<dataset>/<stage>.safetensors``."""
    return zoo_checkpoint_dir("image", source, dataset)


class ImageTask(Task):
    """class -> image on ``digits`` (8x8 grey) or ``shapes`` (32x32 RGB)."""

    name = "image"
    x_kind = "class"
    y_kind = "image"

    def __init__(
        self,
        dataset: str = "shapes",
        checkpoints: str | Path = "shipped",
        device: torch.device | None = None,
    ):
        self.dataset = dataset
        self.classes, self.y_shape = IMAGE_DATASETS[dataset]
        self.device = device or default_device()
        self.ckpt_dir = checkpoint_dir(checkpoints, dataset)
        missing = [s for s in STAGES if not (self.ckpt_dir / f"{s}.safetensors").exists()]
        if missing:
            raise FileNotFoundError(
                f"checkpoints missing in {self.ckpt_dir}: {', '.join(missing)}; "
                f"train them with `regenlab train image --data {dataset}`"
            )
        load = lambda s: load_checkpoint(self.ckpt_dir / s, self.device)  # noqa: E731
        a = ARCH[dataset]
        # The judge is fixed: the shipped classifier scores every checkpoint set (its own if none).
        judge = checkpoint_dir("shipped", dataset) / "classifier"
        if not judge.with_suffix(".safetensors").exists():
            judge = self.ckpt_dir / "classifier"
        self.classifier: ConvClassifier = load_checkpoint(judge, self.device)
        vqvae: VQVAE = load("vqvae")
        vae: ConvVAE = load("vae")
        self.conversions = {
            "vq": VQTokens(vqvae),
            "vae": VAELatent(vae),
            "downsample": Downsample(a["factor"]),
        }
        down = self.conversions["downsample"]
        self.pipelines = {
            "vq": Pipeline("vq", self.conversions["vq"], TokenPrior(load("vq_prior"), vqvae.grid, **a["vq_sampling"]), DecoderRenderer(self.conversions["vq"])),
            "vae": Pipeline("vae", self.conversions["vae"], DiffusionPrior(load("vae_prior"), (vae.latent_dim,)), DecoderRenderer(self.conversions["vae"])),
            "downsample": Pipeline("downsample", down, DiffusionPrior(load("down_prior"), down.y_prime_shape(self.y_shape)), UpsamplerRenderer(load("upsampler"))),
        }  # fmt: skip
        self.direct = DirectVAE(load("direct"))

    # ------------------------------------------------------------------------------ inputs

    def class_index(self, c: Any) -> int:
        """A class given by index or name -> its index; ValueError if unknown."""
        if isinstance(c, bool):
            raise ValueError(f"unknown class {c!r}")
        if isinstance(c, str) and c.strip() in self.classes:
            return self.classes.index(c.strip())
        if isinstance(c, str) and c.strip().lstrip("-").isdigit():
            c = int(c.strip())
        if isinstance(c, int) and 0 <= c < len(self.classes):
            return c
        raise ValueError(
            f"unknown class {c!r} for {self.dataset}; choose one of {', '.join(self.classes)} (or 0..{len(self.classes) - 1})"
        )

    def parse_x(self, x: Any) -> list[int]:
        items = x if isinstance(x, (list, tuple)) else [x]
        if not items:
            raise ValueError("no class given")
        return [self.class_index(c) for c in items]

    def check_y(self, y: torch.Tensor) -> torch.Tensor:
        """A user image batch (B, C, H, W) or one image (C, H, W) in [0, 1] of this data set's shape."""
        if not torch.is_tensor(y):
            raise ValueError(f"an image must be a torch.Tensor, got {type(y).__name__}")
        if y.dim() == 3:
            y = y.unsqueeze(0)
        if y.dim() != 4 or tuple(y.shape[1:]) != tuple(self.y_shape):
            raise ValueError(
                f"{self.dataset} images have shape (B, {', '.join(map(str, self.y_shape))}), got {tuple(y.shape)}"
            )
        check_finite(y, "the image")
        if y.min() < 0 or y.max() > 1:
            raise ValueError("image values must lie in [0, 1]")
        return y.float().to(self.device)

    def examples(self, split="test", n=8, seed=0):
        data = load_images(self.dataset, split)
        idx = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(seed))[:n]
        return data.labels[idx].tolist(), data.images[idx]

    def visualize(self, conversion: str, y_prime: torch.Tensor, x: Any = None):
        if conversion == "vq":
            return viz.token_grid(y_prime, self.conversions["vq"].codebook_size)
        if conversion == "vae":
            return viz.latent_bars(y_prime)
        if conversion == "downsample":
            return viz.image_heatmap(y_prime, title="downsampled Y'")
        raise ValueError(
            f"unknown conversion {conversion!r}; choose one of {', '.join(self.conversions)}"
        )

    # ------------------------------------------------------------------------------ metrics

    @torch.no_grad()
    def reconstruct(
        self, conversion: str, y: torch.Tensor, seed: int | None = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(Y', Y rendered from the true Y') for images y (B, C, H, W)."""
        y = self.check_y(y)
        yp = self.conversions[conversion].encode(y)
        return yp, self.pipelines[conversion].renderer.sample(yp, seed=seed)

    @torch.no_grad()
    def _real_features(self) -> torch.Tensor:
        """The classifier's features of the test set (N, F), computed once."""
        if getattr(self, "_f_real", None) is None:
            real = load_images(self.dataset, "test").images
            self._f_real = torch.cat(
                [
                    self.classifier.features(real[i : i + 512].to(self.device))
                    for i in range(0, len(real), 512)
                ]
            ).cpu()
        return self._f_real

    @torch.no_grad()
    def score(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Class consistency, within-class diversity and Frechet distance to the test set."""
        real = load_images(self.dataset, "test")
        clf = self.classifier
        f_real = self._real_features()
        feats = clf.features(images.to(self.device))
        pred = clf.head(feats).argmax(-1).cpu()
        feats = feats.cpu()
        return {
            "class_consistency": metrics.class_consistency(pred, labels.cpu()),
            "diversity": metrics.within_class_diversity(feats, labels.cpu()),
            "diversity_real": metrics.within_class_diversity(f_real, real.labels),
            "frechet_distance": metrics.frechet_distance(f_real, feats),
        }

    @torch.no_grad()
    def evaluate(
        self, n_per_class: int = 50, seed: int = 0, temperature: float = 0.8
    ) -> dict[str, Any]:
        """Every conversion, every pipeline and the direct baseline, measured on the same seeds."""
        check_sampling_args(n_per_class, temperature)
        test = load_images(self.dataset, "test")
        y = test.images.to(self.device)
        acc = float((self.classifier(y).argmax(-1).cpu() == test.labels).double().mean())
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "checkpoints": str(self.ckpt_dir),
            "classifier_test_accuracy": acc,
        }
        conv = {}
        for name, c in self.conversions.items():
            yp, rec = self.reconstruct(name, y, seed=seed)
            row = {
                "kind": c.kind,
                "discrete": c.discrete,
                "psnr_db": metrics.psnr(y, rec),
                # the share of renderings from the true Y' the judge still assigns to their class:
                # what no prior over this Y' can exceed
                "recon_consistency": metrics.class_consistency(
                    self.classifier(rec).argmax(-1).cpu(), test.labels
                ),
                "compression_ratio": c.compression_ratio(self.y_shape),
                "bits_ratio": c.bits_ratio(self.y_shape),
            }
            if c.discrete:
                ppl, used = metrics.code_perplexity(yp, c.codebook_size)
                # -log P(y'_t | y'_<t, X) per token: held out, and on 1,000 training images
                # (a gap between the two means the prior memorises)
                prior = self.pipelines[name].prior.model
                train = load_images(self.dataset, "train")
                seen = c.encode(train.images[:1000].to(self.device)).flatten(1)
                row["prior_nll_train"] = prior.nll(seen, train.labels[:1000].to(self.device))
                row["prior_nll_test"] = prior.nll(yp.flatten(1), test.labels.to(self.device))
                row |= {
                    "codebook_size": c.codebook_size,
                    "perplexity": ppl,
                    "perplexity_share": ppl / c.codebook_size,
                    "codes_used": used,
                }
            conv[name] = row
        out["conversions"] = conv
        x = list(range(len(self.classes)))
        labels = torch.tensor(x).repeat_interleave(n_per_class)
        gen = {}
        for name, p in self.pipelines.items():
            t0 = time.perf_counter()
            trace = p.sample(x, n=n_per_class, temperature=temperature, seed=seed)
            dt = time.perf_counter() - t0
            gen[name] = self.score(trace.y, labels) | {
                "ms_per_image": 1000 * dt / len(labels),
                "params": self.params(name),
            }
        t0 = time.perf_counter()
        ys = self.direct.sample(x, n=n_per_class, temperature=temperature, seed=seed)
        dt = time.perf_counter() - t0
        gen["direct"] = self.score(ys, labels) | {
            "ms_per_image": 1000 * dt / len(labels),
            "params": self.params("direct"),
        }
        for name in gen:
            gen[name]["train_seconds"] = self.train_seconds(name)
        out["generation"] = gen
        out["n_per_class"], out["seed"], out["temperature"] = n_per_class, seed, temperature
        return out

    STAGES_OF = {
        "vq": ("vqvae", "vq_prior"),
        "vae": ("vae", "vae_prior"),
        "downsample": ("upsampler", "down_prior"),
        "direct": ("direct",),
    }

    def params(self, route: str) -> int:
        return sum(read_record(self.ckpt_dir / s)["meta"]["params"] for s in self.STAGES_OF[route])

    def train_seconds(self, route: str) -> float:
        return sum(read_record(self.ckpt_dir / s)["meta"]["seconds"] for s in self.STAGES_OF[route])


register_task(
    TaskSpec(
        name="image",
        title="class -> image (digits, shapes)",
        datasets=tuple(IMAGE_DATASETS),
        build=lambda dataset, **kw: ImageTask(dataset, **kw),
        trainer=Trainer(STAGES, tuple(PRESETS), train_stage),
    )
)

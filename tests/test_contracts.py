"""Contracts every Conversion, Prior and Renderer passes: shapes, seeding, batch consistency."""

from __future__ import annotations

import pytest
import torch

from regenlab.conversions.image import Downsample, VAELatent, VQTokens
from regenlab.data.images import IMAGE_DATASETS, load_images
from regenlab.tasks.image import (
    DecoderRenderer,
    DiffusionPrior,
    DirectVAE,
    TokenPrior,
    UpsamplerRenderer,
)
from regenlab.tasks.image_train import ARCH, build

DATASETS = list(IMAGE_DATASETS)


def _untrained(dataset: str):
    torch.manual_seed(0)
    a = ARCH[dataset]
    c, s, _ = IMAGE_DATASETS[dataset][1]
    vq, vae = build(dataset, "vqvae").eval(), build(dataset, "vae").eval()
    down = Downsample(a["factor"])
    convs = {"vq": VQTokens(vq), "vae": VAELatent(vae), "downsample": down}
    priors = {
        "vq": TokenPrior(build(dataset, "vq_prior").eval(), vq.grid, top_k=8),
        "vae": DiffusionPrior(build(dataset, "vae_prior").eval(), (vae.latent_dim,)),
        "downsample": DiffusionPrior(
            build(dataset, "down_prior").eval(), down.y_prime_shape((c, s, s))
        ),
    }
    renderers = {
        "vq": DecoderRenderer(convs["vq"]),
        "vae": DecoderRenderer(convs["vae"]),
        "downsample": UpsamplerRenderer(build(dataset, "upsampler").eval()),
    }
    return convs, priors, renderers


@pytest.fixture(scope="module", params=DATASETS)
def stages(request):
    return request.param, *_untrained(request.param)


@pytest.fixture(scope="module")
def images():
    return {ds: load_images(ds, "val").images[:6] for ds in DATASETS}


@pytest.mark.parametrize("name", ["vq", "vae", "downsample"])
def test_conversion_shape_and_batch_consistency(stages, images, name):
    ds, convs, _, _ = stages
    conv, y = convs[name], images[ds]
    yp = conv.encode(y)
    assert tuple(yp.shape) == (len(y), *conv.y_prime_shape(y.shape[1:]))
    one_by_one = torch.cat([conv.encode(y[i : i + 1]) for i in range(len(y))])
    assert torch.allclose(yp.float(), one_by_one.float(), atol=1e-5)
    assert conv.compression_ratio(y.shape[1:]) > 1
    assert conv.kind in ("explicit", "implicit") and conv.card.keeps and conv.card.drops


@pytest.mark.parametrize("name", ["vq", "vae", "downsample"])
def test_prior_shapes_and_seeding(stages, name):
    ds, convs, priors, _ = stages
    prior, c = priors[name], IMAGE_DATASETS[ds][1]
    a = prior.sample([0, 1], n=3, temperature=1.0, seed=5)
    b = prior.sample([0, 1], n=3, temperature=1.0, seed=5)
    d = prior.sample([0, 1], n=3, temperature=1.0, seed=6)
    assert tuple(a.shape) == (6, *convs[name].y_prime_shape(c))
    assert torch.equal(a, b), "the same seed must give the same samples"
    assert not torch.equal(a, d), "different seeds must give different samples"
    if convs[name].discrete:
        assert a.dtype == torch.long and a.min() >= 0 and a.max() < convs[name].codebook_size
    else:
        assert torch.isfinite(a).all()


@pytest.mark.parametrize("name", ["vq", "vae", "downsample"])
def test_prior_temperature_zero_is_deterministic(stages, name):
    _, _, priors, _ = stages
    a = priors[name].sample([1], n=2, temperature=0.0, seed=1)
    b = priors[name].sample([1], n=2, temperature=0.0, seed=2)
    assert torch.allclose(a.float(), b.float(), atol=1e-5)


@pytest.mark.parametrize("name", ["vq", "vae", "downsample"])
def test_renderer_shapes_seeding_batch_consistency(stages, images, name):
    ds, convs, _, renderers = stages
    y = images[ds]
    yp = convs[name].encode(y)
    r = renderers[name]
    out = r.sample(yp, n=2, seed=3)
    assert out.shape == (2 * len(y), *y.shape[1:])
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, r.sample(yp, n=2, seed=3))
    single = r.sample(yp[:1], n=1, seed=3)
    assert torch.allclose(single[0], r.sample(yp, n=1, seed=3)[0], atol=1e-5), (
        "first item independent of batch"
    )


def test_upsampler_samples_detail(stages, images):
    """The explicit conversion's renderer is a distribution: different seeds, different detail."""
    ds, convs, _, renderers = stages
    yp = convs["downsample"].encode(images[ds])
    a, b = renderers["downsample"].sample(yp, seed=0), renderers["downsample"].sample(yp, seed=1)
    assert not torch.equal(a, b)


def test_direct_contract(stages):
    ds = stages[0]
    direct = DirectVAE(build(ds, "direct", target_params=500_000).eval())
    a = direct.sample([0, 2], n=2, seed=1)
    assert a.shape == (4, *IMAGE_DATASETS[ds][1])
    assert torch.equal(a, direct.sample([0, 2], n=2, seed=1))
    assert not torch.equal(a, direct.sample([0, 2], n=2, seed=2))


def test_downsample_matches_block_mean(images):
    y = images["shapes"]
    ref = y.unfold(2, 4, 4).unfold(3, 4, 4).mean((-1, -2))  # (B, C, 8, 8)
    assert torch.allclose(Downsample(4).encode(y), ref, atol=1e-6)


def test_vq_round_trip_uses_codebook(stages, images):
    ds, convs, _, _ = stages
    conv = convs["vq"]
    tokens = conv.encode(images[ds])
    recon = conv.decode(tokens)
    assert torch.equal(
        conv.vqvae.quantizer.embed(tokens),
        conv.vqvae.quantizer.codebook[tokens].permute(0, 3, 1, 2),
    )
    assert recon.shape == images[ds].shape


def test_cached_sampling_matches_full_forward():
    """Greedy decoding with the key/value cache picks the argmax of the full causal forward."""
    torch.manual_seed(0)
    tf = build("shapes", "vq_prior").eval()
    labels = torch.tensor([0, 3, 5])
    tokens = tf.sample(labels, temperature=0.0)
    with torch.no_grad():
        logits = tf(tokens, labels)  # (B, T, K), position t sees tokens < t only
    assert torch.equal(logits.argmax(-1), tokens)


def test_guided_sampling_is_seeded_and_differs_from_unguided():
    torch.manual_seed(0)
    tf = build("digits", "vq_prior").eval()
    labels = torch.tensor([1, 2])
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    a = tf.sample(labels, generator=g(0), guidance=2.0)
    assert torch.equal(a, tf.sample(labels, generator=g(0), guidance=2.0))
    assert not torch.equal(a, tf.sample(labels, generator=g(0), guidance=0.0))
    assert a.shape == (2, tf.seq_len) and a.max() < tf.n_codes


@pytest.mark.parametrize("dataset", DATASETS)
def test_prior_attention_matches_torch_multihead_attention(dataset):
    """The prior's causal attention (scaled_dot_product_attention on nn.MultiheadAttention's
    weights) equals nn.MultiheadAttention itself with a causal mask."""
    torch.manual_seed(0)
    block = build(dataset, "vq_prior").eval().blocks[0]
    x = torch.randn(3, 10, block.ln1.normalized_shape[0])
    mask = torch.triu(torch.full((10, 10), float("-inf")), 1)
    h = block.ln1(x)
    ref = x + block.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
    ref = ref + block.mlp(block.ln2(ref))
    torch.testing.assert_close(block(x), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dataset", DATASETS)
def test_prior_is_causal(dataset):
    """Changing token t changes no logit before position t + 1 (input t + 1 is token t)."""
    torch.manual_seed(0)
    tf = build(dataset, "vq_prior").eval()
    tokens = torch.randint(0, tf.n_codes, (2, tf.seq_len))
    labels = torch.tensor([0, 1])
    t = tf.seq_len // 2
    changed = tokens.clone()
    changed[:, t] = (changed[:, t] + 1) % tf.n_codes
    with torch.no_grad():
        a, b = tf(tokens, labels), tf(changed, labels)
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1])
    assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


def test_row_and_column_embeddings():
    """With ``grid``, positions in one row share its row vector and in one column its column
    vector; a grid that does not hold seq_len tokens is refused."""
    from regenlab.models import TokenTransformer

    tf = TokenTransformer(16, 16, 3, dim=8, layers=1, heads=2, grid=4)
    extra = (tf.position(0, 16) - tf.pos)[0].detach()  # (16, C): row + column of each position
    torch.testing.assert_close(extra[1] - extra[0], extra[5] - extra[4])  # column 1 - column 0
    torch.testing.assert_close(extra[4] - extra[0], extra[7] - extra[3])  # row 1 - row 0
    plain = TokenTransformer(16, 16, 3, dim=8, layers=1, heads=2)
    assert torch.equal(plain.position(0, 16), plain.pos)
    with pytest.raises(ValueError, match="grid"):
        TokenTransformer(16, 15, 3, dim=8, layers=1, heads=2, grid=4)


def test_dihedral_augmentation_keeps_every_image_and_its_pixels():
    from regenlab.tasks.image_train import dihedral

    y = load_images("shapes", "val").images[:5]
    d = dihedral(y)
    assert d.shape == (40, *y.shape[1:])
    assert torch.equal(d[:5], y)  # the identity comes first
    # each symmetry moves pixels, never changes them: the same multiset of values per image
    for k in range(8):
        torch.testing.assert_close(
            d[5 * k : 5 * (k + 1)].flatten(1).sort(1).values, y.flatten(1).sort(1).values
        )
    assert len({tuple(d[j * 5].flatten()[:200].tolist()) for j in range(8)}) == 8  # all distinct


def test_prior_nll_is_its_mean_cross_entropy():
    """``nll`` is the loss without class dropout: log K for a prior with flat logits."""
    torch.manual_seed(0)
    tf = build("digits", "vq_prior").eval()
    tokens = torch.randint(0, tf.n_codes, (7, tf.seq_len))
    labels = torch.randint(0, 10, (7,))
    with torch.no_grad():
        loss, _ = tf.loss(tokens, labels)
    assert tf.nll(tokens, labels, batch=3) == pytest.approx(loss.item(), rel=1e-5)
    torch.nn.init.zeros_(tf.head.weight)
    torch.nn.init.zeros_(tf.head.bias)
    assert tf.nll(tokens, labels) == pytest.approx(float(torch.log(torch.tensor(tf.n_codes))))

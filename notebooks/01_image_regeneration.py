# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Image regeneration: choosing Y′, and regeneration vs direct
#
# The paper's research question 4 (section 4.1): *which Y′?* A good Y′ is (1) easy to predict from X,
# (2) easy to render Y from, and (3) compact. These pull against each other: the more a Y′ keeps,
# the easier it is to render from and the harder it is to predict. This notebook measures that
# trade-off on two knobs, then compares the three shipped regeneration pipelines with the direct
# X → Y baseline of the same size and training time.

# %%
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from regenlab import get_task
from regenlab.conversions.image import Downsample
from regenlab.data.images import load_images
from regenlab.metrics import psnr
from regenlab.models import VQVAE
from regenlab.train import FitConfig, fit
from regenlab.viz import image_grid

torch.set_num_threads(2)
shapes = get_task("image", "shapes", device=torch.device("cpu"))
test = load_images("shapes", "test")
y = test.images[:500]

# %% [markdown]
# ## Knob 1: the downsampling factor (an explicit Y′)
# For each factor f, Y′ is the f×f block average. We render it back with a fixed bilinear upsampler
# (no learning), and measure what a prior would face: the number of values of Y′ and how much they
# vary within a class (the spread a class-conditional prior must model, summed over dimensions).

# %%
rows = []
for f in (1, 2, 4, 8, 16):
    yp = Downsample(f).encode(y)
    back = F.interpolate(yp, size=32, mode="bilinear", align_corners=False)
    spread = sum(yp[test.labels[:500] == c].flatten(1).var(0).sum().item() for c in range(6)) / 6
    rows.append((f, yp[0].numel(), psnr(y, back), spread))
    print(f"factor {f:2d}: {yp[0].numel():5d} values, bilinear PSNR {rows[-1][2]:5.1f} dB, within-class variance {spread:7.2f}")

fig = go.Figure()
fig.add_scatter(x=[r[1] for r in rows], y=[r[2] for r in rows], mode="lines+markers+text", text=[f"f={r[0]}" for r in rows], textposition="top center", name="PSNR")
fig.update_layout(title="more values in Y′: easier to render, more to predict", xaxis_title="values in Y′ (log)", yaxis_title="PSNR of bilinear rendering (dB)", xaxis_type="log", height=320)
fig

# %% [markdown]
# The lab ships factor 4 (8×8×3 = 192 values) with a *learned* renderer that samples the detail
# the block average dropped. It beats the fixed bilinear renderer:

# %%
yp4 = shapes.conversions["downsample"].encode(y)
learned = shapes.pipelines["downsample"].renderer.sample(yp4, seed=0)
print(f"factor 4 · bilinear {psnr(y, F.interpolate(yp4, size=32, mode='bilinear', align_corners=False)):.1f} dB · learned upsampler {psnr(y, learned):.1f} dB")

# %% [markdown]
# ## Knob 2: the codebook size K (a learned, discrete Y′)
# We train small VQ-VAEs on the digits (8×8, fast) with K = 4 … 128 codes for a few hundred steps
# each, and measure (a) reconstruction PSNR on the test digits and (b) prior difficulty: the
# bits per image of the test tokens under a per-position, class-conditional categorical model
# fitted on the training tokens — what a prior must at least learn to predict.

# %%
digits_train, digits_test = load_images("digits", "train"), load_images("digits", "test")


def token_bits(train_tok, train_lab, test_tok, test_lab, k):
    """Cross-entropy (bits per image) of test tokens under per-class, per-position frequencies."""
    bits = 0.0
    for c in range(10):
        counts = F.one_hot(train_tok[train_lab == c], k).sum(0).double() + 0.5  # (T, K), smoothed
        logp = (counts / counts.sum(-1, keepdim=True)).log2()
        t = test_tok[test_lab == c]  # (n, T)
        bits -= logp.gather(1, t.T).sum().item()
    return bits / len(test_tok)


sweep = []
for k in (4, 16, 64, 128):
    torch.manual_seed(0)
    model = VQVAE(1, 8, n_codes=k, code_dim=16, width=48, n_down=1)

    def draw(g, b):
        return (digits_train.images[torch.randint(0, len(digits_train.labels), (b,), generator=g)],)

    fit(model, draw, FitConfig(steps=400, batch_size=64, lr=2e-3), f"/tmp/regenlab_nb01/vq{k}", resume=False)
    with torch.no_grad():
        tr, te = model.encode(digits_train.images).flatten(1), model.encode(digits_test.images).flatten(1)
        rec_psnr = psnr(digits_test.images, model.decode_code(te.view(-1, 4, 4)))
    sweep.append((k, rec_psnr, token_bits(tr, digits_train.labels, te, digits_test.labels, k)))
    print(f"K={k:4d}: reconstruction {sweep[-1][1]:5.1f} dB, prior must model {sweep[-1][2]:5.1f} bits per image")

fig = go.Figure()
fig.add_scatter(x=[s[2] for s in sweep], y=[s[1] for s in sweep], mode="lines+markers+text", text=[f"K={s[0]}" for s in sweep], textposition="bottom right")
fig.update_layout(title="RQ4: reconstruction quality vs prior difficulty", xaxis_title="bits per image the prior must predict", yaxis_title="reconstruction PSNR (dB)", height=320)
fig

# %% [markdown]
# ## Regeneration vs direct, on the same classes and seeds
# Three pipelines (one per Y′) and the direct class → pixels model, which has about the parameters
# of the VQ pipeline and was trained for the same wall-clock. The independent classifier scores
# all of them; lower Fréchet distance is better, diversity is compared with the real images'.

# %%
x = list(range(6))
labels = torch.tensor(x).repeat_interleave(16)
results = {}
for name, pipe in shapes.pipelines.items():
    samples = pipe.sample(x, n=16, seed=0).y
    results[f"regeneration · {name}"] = (samples, shapes.score(samples, labels))
direct = shapes.direct.sample(x, n=16, seed=0)
results["direct"] = (direct, shapes.score(direct, labels))
for name, (_, s) in results.items():
    print(f"{name:26s} consistency {s['class_consistency']:.2f}  diversity {s['diversity']:.2f} (real {s['diversity_real']:.2f})  Fréchet {s['frechet_distance']:.2f}")

# %%
name = "regeneration · vq"
fig = go.Figure(go.Image(z=image_grid(torch.cat([results[name][0][::4], results["direct"][0][::4]]), cols=12)))
fig.update_layout(title="top two rows: VQ regeneration · bottom two rows: direct", height=300, margin=dict(l=0, r=0, t=30, b=0))
fig.update_xaxes(visible=False)
fig.update_yaxes(visible=False)
fig

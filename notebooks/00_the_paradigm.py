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
# # 00 · The paradigm: X → Y′ → Y
#
# Regeneration learning (Tan et al., section 2.1) does not learn the hard mapping X → Y in one go.
# It picks an intermediate representation **Y′** of the target **Y** and splits the work in three:
#
# 1. **Convert** Y → Y′ — no labels needed (here: a VQ-VAE encoder turns an image into tokens);
# 2. **Generate** Y′ ~ P(Y′|X) — the prior (here: a class-conditional transformer over tokens);
# 3. **Render** Y ~ P(Y|Y′) — self-supervised, since Y′ is computed from Y (here: the VQ-VAE decoder).
#
# At inference there are two samplings. This notebook runs each step on the image task
# (class → 32×32 shape image) with the lab's shipped checkpoints.

# %%
import torch

from regenlab import get_task, task_names
from regenlab.viz import image_grid
import plotly.graph_objects as go

torch.set_num_threads(2)
print("registered tasks:", task_names())
task = get_task("image", "shapes", device=torch.device("cpu"))
print("classes:", task.classes)
print("conversions on offer:", list(task.conversions))


def show(images, cols=8, title=""):
    """A mosaic of images (B, C, H, W) as a plotly figure."""
    fig = go.Figure(go.Image(z=image_grid(images, cols=cols)))
    fig.update_layout(title=title, margin=dict(l=0, r=0, t=30, b=0), height=260)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


# %% [markdown]
# ## The data: many images Y for one class X
# The class fixes only the kind of shape; colour, size, position and rotation are free, so
# X → Y is one-to-many. That is why both stages below are *samplers*, not functions.

# %%
labels, y = task.examples("test", n=16, seed=1)
print([task.classes[i] for i in labels])
show(y, title="Y: test images")

# %% [markdown]
# ## Step 1 — convert Y → Y′
# The VQ-VAE encoder maps each 32×32×3 image to an 8×8 grid of codebook indices.
# The card says what this Y′ keeps and drops, by the paper's three principles (section 4.1).

# %%
vq = task.conversions["vq"]
print(vq.card)
tokens = vq.encode(y)  # (16, 8, 8) long
print("Y′ shape:", tuple(tokens.shape), "| values in Y / values in Y′ =", vq.compression_ratio(task.y_shape))
task.visualize("vq", tokens[:1])

# %% [markdown]
# Rendering the *true* Y′ back shows what the conversion loses (the reconstruction error):

# %%
from regenlab.metrics import psnr

recon = task.pipelines["vq"].renderer.sample(tokens)
print(f"reconstruction PSNR from the true Y′: {psnr(y, recon):.1f} dB")
show(torch.cat([y[:8], recon[:8]]), title="top: Y · bottom: Y rendered from the true Y′")

# %% [markdown]
# ## Step 2 — sample Y′ ~ P(Y′|X)
# The transformer writes the 64 tokens one by one, conditioned on the class. Different seeds give
# different Y′ for the same X; temperature trades diversity for typicality.

# %%
pipe = task.pipelines["vq"]
x = ["star"]
y_prime = pipe.prior.sample(task.parse_x(x), n=8, temperature=1.0, seed=0)  # (8, 8, 8)
print("sampled Y′:", tuple(y_prime.shape))
task.visualize("vq", y_prime[:1])

# %% [markdown]
# ## Step 3 — render Y ~ P(Y|Y′)

# %%
y_hat = pipe.renderer.sample(y_prime)
show(y_hat, title="8 samples for X = star")

# %% [markdown]
# ## Both samplings at once: a `Trace`
# `Pipeline.sample` runs the prior then the renderer and records every Y′, every Y and the time of
# each stage. The same seed reproduces the same samples.

# %%
trace = pipe.sample(task.parse_x(["circle", "cross", "ring"]), n=6, temperature=0.9, seed=7)
again = pipe.sample(task.parse_x(["circle", "cross", "ring"]), n=6, temperature=0.9, seed=7)
assert torch.equal(trace.y_prime, again.y_prime)
print({k: f"{v * 1000:.0f} ms" for k, v in trace.seconds.items()})
show(trace.y, cols=6, title="rows: circle, cross, ring (6 samples each)")

# %% [markdown]
# ## Is it the right class? An independent judge
# A classifier trained only on real images scores the samples: the share classified as the
# requested class is the *class consistency*.

# %%
scores = task.score(trace.y, torch.tensor([0, 3, 5]).repeat_interleave(6))
{k: round(v, 3) for k, v in scores.items()}

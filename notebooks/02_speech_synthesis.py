# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Speech synthesis: text → mel spectrogram → waveform
#
# The first row of the paper's Table 2 (section 3):
#
# | task | X | Y | Y′ | Y → Y′ & Y′ → Y |
# |---|---|---|---|---|
# | speech synthesis | text | waveform | spectrogram / code | STFT & vocoder / codec |
#
# Tacotron 2 and FastSpeech do not generate 22,050 samples a second from text. The waveform is
# converted by the STFT into a **mel spectrogram** (no labels needed), an acoustic model (the
# *prior*) predicts the mel from the text, and a **vocoder** (the *renderer*, trained on audio
# alone) turns the mel back into a waveform. This notebook measures each step on the lab's eSpeak NG
# corpus (4 voices, varied pitch and rate, so one text has many waveforms) with the checkpoints
# found under `assets/checkpoints/tts/espeak`. Every number below is measured when it runs.

# %%
import time

import plotly.graph_objects as go
import torch
from IPython.display import Audio, display
from plotly.subplots import make_subplots

from regenlab import get_task
from regenlab.data.speech import load_speech
from regenlab.tasks.tts import audio_scores
from regenlab.tasks.tts_train import STFT, pitch_rate
from regenlab.viz import spectrogram, waveform
from regenlab.zoo import read_record

# one thread: short STFTs and small convs gain little from a second, which stalls under load
torch.set_num_threads(1)
task = get_task("tts", "espeak", device=torch.device("cpu"))
SR = task.sample_rate
FPS = SR / STFT.hop  # mel frames a second
SHOW_S = 6.0  # players and figures show at most this many seconds of a sample
print(STFT)
print(
    f"{SR} samples a second; a frame every {STFT.hop} samples = {1000 / FPS:.1f} ms ({FPS:.1f} frames a second)"
)
print("conversions on offer:", list(task.conversions))
for stage in ("vocoder", "prior", "direct"):
    meta = read_record(task.ckpt_dir / stage)["meta"]
    print(
        f"{stage:8s} checkpoint: preset {meta['preset']}, {meta['steps_done']:,} steps in {meta['seconds']:.0f} s, {meta['params']:,} parameters"
    )


def held_out(seed: int):
    """One test utterance (its text and eSpeak settings never seen in training) and its wave (S,)."""
    x, y = task.examples("test", n=1, seed=seed)
    return x[0], y[0]


def listen(label: str, y: torch.Tensor) -> None:
    cut = f" (first {SHOW_S:.0f} s of {len(y) / SR:.1f} s)" if len(y) > SHOW_S * SR else ""
    print(label + cut)
    display(Audio(y[: int(SHOW_S * SR)].numpy(), rate=SR))


def side_by_side(mels, titles, height=280):
    """Several log-mel spectrograms (80, T) next to each other, on one colour scale."""
    fig = make_subplots(
        rows=1, cols=len(mels), subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.02
    )
    for i, m in enumerate(mels, 1):
        fig.add_trace(
            spectrogram(m[..., : int(SHOW_S * FPS)], "mel", STFT)
            .data[0]
            .update(coloraxis="coloraxis"),
            1,
            i,
        )
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), coloraxis=dict(colorscale="Magma")
    )
    return fig


# %% [markdown]
# ## Y: a waveform
# A held-out test utterance: 22,050 numbers a second. A model that generates them directly must
# get every sample right, the phase of every harmonic included, which the ear barely hears.

# %%
x0, y0 = held_out(0)
print(x0)
listen(f"Y: {len(y0) / SR:.2f} s", y0)
waveform(y0, SR)

# %% [markdown]
# ## Step 1: convert Y → Y′ with the STFT
# The STFT cuts the waveform into overlapping 1024-sample windows every 256 samples and takes the
# magnitude of each window's spectrum (513 frequency bins). Three Y′ come from it, each keeping
# less (section 4.1: a good Y′ is 1 easy to predict from X, 2 easy to render Y from, 3 compact):
#
# - **linear**: the log magnitude itself (drops only the phase);
# - **mel**: 80 bands spaced like the ear's resolution, narrow at low and wide at high frequencies;
# - **MFCC**: 20 cosine coefficients of the log-mel, only its smooth envelope.

# %%
ten_s = (10 * SR,)
print(f"{'representation':14s} {'shape per second':>17s} {'values/s':>9s} {'Y / Y′ (values)':>16s}")
print(f"{'waveform Y':14s} {f'({SR},)':>17s} {SR:9,d} {1.0:16.2f}")
for name, conv in task.conversions.items():
    f = conv.y_prime_shape(ten_s)[0]
    print(
        f"{name:14s} {f'({f}, {FPS:.1f})':>17s} {f * FPS:9,.0f} {conv.compression_ratio(ten_s):16.2f}"
    )
for name, conv in task.conversions.items():
    print(
        f"\n{name}\n  keeps: {conv.card.keeps}\n  drops: {conv.card.drops}\n  principles: {conv.card.principles}"
    )

# %% [markdown]
# The linear spectrogram has *more* values than the waveform (the STFT windows overlap); the mel
# has about a third as many, the MFCC about a thirteenth. The mel's frames line up with phonemes.
# eSpeak reports when it starts each phoneme, drawn here over the mel: this alignment is what the
# prior's duration predictor learns.

# %%
mels0 = {name: conv.encode(y0) for name, conv in task.conversions.items()}
task.visualize("mel", mels0["mel"], x=x0)

# %%
task.visualize("linear", mels0["linear"])

# %% [markdown]
# The MFCC keeps only the envelope: turned back into a log-mel (inverse DCT), the horizontal
# stripes of the pitch harmonics in the low bands are gone.

# %%
side_by_side(
    [mels0["mel"], task.conversions["mfcc"].to_logmel(mels0["mfcc"])],
    ["log-mel", "log-mel the 20 MFCCs describe"],
)

# %% [markdown]
# ## Step 3: render Y ~ P(Y|Y′) from the true mel
# Two renderers of the same mel, on a few held-out test utterances:
#
# - **Griffin-Lim** (32 iterations, no learning): starts from a random phase and alternates
#   iSTFT and STFT until the phase fits the magnitudes; the mel is first spread back onto 513 bins
#   by the filter bank's pseudo-inverse;
# - the **vocoder**: a network trained self-supervised on audio alone (Y′ = mel(Y) is computed).
#
# Scores: the L1 distance of the log-mel re-analysed from the rendering to the true one (0 is
# perfect), STOI intelligibility against the original (0..1), wide-band PESQ where the package is
# installed (1..4.6), and the real-time factor (compute seconds per second of audio; below 1 is
# faster than real time).

# %%
clips = [held_out(s) for s in (0, 1, 2, 3)]
audio_s = sum(len(y) for _, y in clips) / SR
mel = task.conversions["mel"]
renderers = task.renderers("mel")
renderers["vocoder"].sample(mel.encode(clips[0][1]))  # warm-up, not timed


def score(render, conversion=mel):
    """Mean scores of render(Y′) -> Y over the clips, and the real-time factor."""
    rows, secs, outs = [], 0.0, []
    for i, (_, y) in enumerate(clips):
        yp = conversion.encode(y)
        t0 = time.perf_counter()
        out = render(yp, i)[0]
        secs += time.perf_counter() - t0
        rows.append(audio_scores(y, out, mel.encode(y), mel))
        outs.append(out)
    keys = [k for k in rows[0] if all(k in r for r in rows)]
    return {k: sum(r[k] for r in rows) / len(rows) for k in keys} | {"rtf": secs / audio_s}, outs


def show(table):
    for name, s in table.items():
        print(f"{name:24s} " + "  ".join(f"{k} {v:6.3f}" for k, v in s.items()))


rendered, table = {}, {}
for name, r in renderers.items():
    table[name], rendered[name] = score(lambda yp, i, r=r: r.sample(yp, seed=i))
print(f"{len(clips)} held-out utterances, {audio_s:.1f} s of audio")
show(table)
listen("original", clips[1][1])
for name, outs in rendered.items():
    listen(f"{name} from the true mel", outs[1])

# %% [markdown]
# Griffin-Lim is itself a sampler: another seed gives another starting phase, hence another
# waveform, with (almost) the same magnitudes. Y′ fixes Y only up to what it dropped.

# %%
gl = renderers["griffin_lim"]
a, b = gl.sample(mels0["mel"], seed=1)[0], gl.sample(mels0["mel"], seed=2)[0]
print(
    f"sample correlation of two Griffin-Lim renderings: {torch.corrcoef(torch.stack([a, b]))[0, 1]:.3f}"
)
print(f"log-mel L1 between them: {(mel.encode(a) - mel.encode(b)).abs().mean():.3f}")

# %% [markdown]
# ## Why mel, not MFCC (section 4.1)
# The paper: *mel-spectrograms are demonstrated to be much better than MFCCs, since MFCCs are too
# abstractive that lose a lot of fine-grained information, thus making it difficult to reconstruct
# Y from Y′.* The same Griffin-Lim, from each Y′ of the same clips:

# %%
by_conv, gl_out = {}, {}
for name, conv in task.conversions.items():
    r = task.renderers(name)["griffin_lim"]
    by_conv[f"griffin_lim from {name}"], gl_out[name] = score(
        lambda yp, i, r=r: r.sample(yp, seed=i), conv
    )
show(by_conv)
for name, outs in gl_out.items():
    listen(f"Griffin-Lim from {name}", outs[1])
side_by_side([mel.encode(gl_out[n][1]) for n in gl_out], [f"re-analysed from {n}" for n in gl_out])

# %% [markdown]
# The linear spectrogram renders best but costs 6x the values of the mel, in 513 noisy bins a
# frame that a prior would have to predict; MFCC is 4x smaller than the mel but renders worst.
# The mel is the compromise between principles 2 and 3: RQ4's trade-off, as speech synthesis
# settles it in practice.
#
# ## Step 2: sample Y′ ~ P(Y′|X), then render
# The prior is FastSpeech-like: eSpeak turns the text into phonemes, an encoder predicts a
# distribution over each phoneme's duration in frames, the sampled durations repeat each phoneme's
# state that many frames, and a decoder writes the 80 mels of every frame. A text none of whose
# words are in the training corpus:

# %%
TEXT = "regeneration makes speech from a new sentence"
heard = set(" ".join(load_speech("train").texts).split())
print({w: w in heard for w in TEXT.split()})
x = {"text": TEXT, "voice": "en-us", "pitch": 50, "rate": 175}
pipe = task.pipelines["mel"]
trace = pipe.sample([x], n=1, temperature=0.7, seed=0)
seconds = trace.y.shape[-1] / SR
print(f"Y′ {tuple(trace.y_prime.shape)} -> Y {tuple(trace.y.shape)} ({seconds:.2f} s of audio)")
print(
    {k: f"{v * 1000:.0f} ms (real-time factor {v / seconds:.2f})" for k, v in trace.seconds.items()}
)
listen("regeneration: prior + vocoder", trace.y[0])
task.visualize("mel", trace.y_prime[..., : int(SHOW_S * FPS)])

# %% [markdown]
# ### Regeneration vs direct, on the same text and seed
# The direct baseline maps phonemes to samples in one model (the prior's encoder and timing, then
# an iSTFT head), with about the parameters of prior + vocoder and their training wall-clock. Both
# get the same X and seed; their outputs are compared by the mel re-analysed from each waveform.

# %%
direct = task.direct.sample([x], n=1, temperature=0.7, seed=0)
listen("direct: text -> waveform", direct[0])
side_by_side(
    [mel.encode(trace.y[0]), mel.encode(direct[0])],
    ["regeneration (re-analysed)", "direct (re-analysed)"],
)

# %% [markdown]
# On held-out utterances with eSpeak's own durations (so the frames line up with the original),
# `task.evaluate` scores both against the real waveform:

# %%
ev = task.evaluate(n_per_class=4, seed=0)
for k in ("pipeline", "direct"):
    print(f"{k:9s} " + "  ".join(f"{m} {ev[k][m]:.3f}" for m in ("mel_l1", "stoi", "pesq_wb") if m in ev[k])
          + f"  params {ev[k]['params']:,}  trained {ev[k]['train_seconds']:.0f} s")  # fmt: skip

# %% [markdown]
# ## One text, many speeches
# X → Y is one-to-many: the prior samples the durations, and the voice, pitch and rate when X
# leaves them out. Four samples of the same text, each with its drawn settings (a batch is
# padded to its longest sample):

# %%
samples = pipe.sample([TEXT], n=4, temperature=1.0, seed=3)
settings = pipe.prior.last_settings
for s, yy in zip(settings, samples.y, strict=True):
    listen(str(s), yy)
side_by_side(
    list(samples.y_prime),
    [f"{s['voice']} p{s['pitch']} r{s['rate']}" for s in settings],
    height=260,
)

# %% [markdown]
# Fixing the voice, pitch and rate leaves only the durations to sample. The prior model, called
# directly, returns them: its encoder gives each phoneme a log-normal over frames, sampled at
# temperature T (the spread is scaled by T; T = 0 gives the centre of the Gaussian over log frames,
# its mode).

# %%
phon = task.phonemize(TEXT, "en-us")[None]  # (1, P) phoneme ids
names = [task.phonemize.vocab[i] for i in phon[0]]
voice = torch.tensor([task.voices.index("en-us")])
cond = pitch_rate(torch.tensor([50]), torch.tensor([175]))  # (1, 2) scaled pitch and rate
fig = go.Figure()
for temp, seed in ((1.0, 0), (1.0, 1), (1.0, 2), (0.0, 0)):
    m, d = task.prior_model.infer(
        phon, voice, cond, temp, generator=torch.Generator().manual_seed(seed)
    )
    print(f"T = {temp}, seed {seed}: {int(d.sum())} frames = {int(d.sum()) / FPS:.2f} s")
    fig.add_bar(x=list(range(len(names))), y=d[0].tolist(), name=f"T={temp}, seed {seed}")
fig.update_layout(
    title="frames per phoneme",
    barmode="group",
    height=300,
    xaxis=dict(tickvals=list(range(len(names))), ticktext=names),
)

# %% [markdown]
# The last sample (T = 0) with its sampled alignment drawn over it:

# %%
starts = (d.cumsum(1) - d)[0].tolist()
spectrogram(m, "mel", STFT, list(zip(names, starts, d[0].tolist(), strict=True)))

# %% [markdown]
# At temperature 0 nothing is drawn: the voice is the first one, pitch and rate the middle of their
# ranges, every duration its mode; every seed and every sample give the same mel (up to float
# rounding, which can differ between the rows of a batch).

# %%
modes = pipe.prior.sample([TEXT], n=2, temperature=0.0, seed=1)
other = pipe.prior.sample([TEXT], n=1, temperature=0.0, seed=2)
diff = max(float((modes[0] - modes[1]).abs().max()), float((modes[0] - other[0]).abs().max()))
print(f"T = 0, {pipe.prior.last_settings[0]}: largest difference between the three mels {diff:.1e}")
assert diff < 1e-4

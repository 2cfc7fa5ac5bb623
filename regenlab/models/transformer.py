"""A class-conditional autoregressive transformer over Y' tokens: P(Y'|X) = prod_t P(y'_t | y'_<t, X).

GPT-style (as nanoGPT): the class is the first token, then the raster-scanned token grid. With
``grid`` set, each position also gets a row and a column embedding, so the network knows from the
first step which tokens are neighbours on the 2-D grid (one token's upper neighbour is ``grid``
positions back), instead of learning that from 64 unrelated position vectors.
Trained with the class dropped (replaced by a "no class" token) a share ``p_uncond`` of the time,
so one network gives both P(y'_t | y'_<t, X) and P(y'_t | y'_<t); sampling can then use
classifier-free guidance (Ho & Salimans, 2022): logits_c + w (logits_c - logits_u).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """Pre-norm causal self-attention and MLP; (B, T, C) -> (B, T, C)."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(dropout)
        )

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values of x (B, T, C) with ``nn.MultiheadAttention``'s weights,
        each (B, H, T, C / H)."""
        b, t, c = x.shape
        h = self.attn.num_heads
        qkv = F.linear(self.ln1(x), self.attn.in_proj_weight, self.attn.in_proj_bias)
        return tuple(z.view(b, t, h, c // h).transpose(1, 2) for z in qkv.chunk(3, -1))

    def out(self, x: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        """Residual attention output att (B, H, T, d), then the MLP; (B, T, C) -> (B, T, C)."""
        x = x + self.attn.out_proj(att.transpose(1, 2).reshape(x.shape))
        return x + self.mlp(self.ln2(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Causal: position t attends to positions <= t. The weights of ``nn.MultiheadAttention``,
        computed with ``scaled_dot_product_attention`` (faster than its float-mask path)."""
        q, k, v = self.heads(x)  # (B, H, T, d)
        p = self.attn.dropout if self.training else 0.0
        return self.out(x, F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True))

    def step(self, x: torch.Tensor, cache: list[torch.Tensor]) -> torch.Tensor:
        """One new position x (B, 1, C) attending to itself and the cached keys and values.

        The same weights as ``forward``; ``cache`` holds [keys, values], each (B, H, t, C / H),
        and grows by one position. Sampling is then O(T) per token instead of O(T^2).
        """
        q, k, v = self.heads(x)  # (B, H, 1, d)
        if cache:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)  # (B, H, t+1, d)
        cache[:] = [k, v]
        return self.out(x, F.scaled_dot_product_attention(q, k, v))  # the past only: no mask


class TokenTransformer(nn.Module):
    """Tokens (B, T) in [0, n_codes) given classes (B,) -> next-token logits (B, T, n_codes)."""

    def __init__(
        self,
        n_codes: int,
        seq_len: int,
        n_classes: int,
        dim: int = 128,
        layers: int = 4,
        heads: int = 4,
        dropout: float = 0.1,
        p_uncond: float = 0.1,
        grid: int = 0,
    ):
        super().__init__()
        self.config = dict(
            n_codes=n_codes,
            seq_len=seq_len,
            n_classes=n_classes,
            dim=dim,
            layers=layers,
            heads=heads,
            dropout=dropout,
            p_uncond=p_uncond,
            grid=grid,
        )
        self.n_codes, self.seq_len, self.p_uncond = n_codes, seq_len, p_uncond
        self.null_class = n_classes  # the "no class" label
        self.tok = nn.Embedding(n_codes + n_classes + 1, dim)  # class c is token n_codes + c
        self.pos = nn.Parameter(torch.zeros(1, seq_len, dim))
        if grid:  # row and column embeddings of the raster position (input t predicts y'_t)
            if grid * grid != seq_len:
                raise ValueError(f"grid {grid} x {grid} does not hold seq_len {seq_len} tokens")
            self.row = nn.Parameter(torch.randn(grid, 1, dim) * 0.02)  # (G, 1, C)
            self.col = nn.Parameter(torch.randn(1, grid, dim) * 0.02)  # (1, G, C)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_codes)
        nn.init.normal_(self.pos, std=0.02)

    def position(self, start: int, stop: int) -> torch.Tensor:
        """Embeddings of positions start..stop-1: (1, stop - start, C)."""
        pos = self.pos
        if self.config["grid"]:
            pos = pos + (self.row + self.col).reshape(1, self.seq_len, -1)
        return pos[:, start:stop]

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Input [class, y'_0 .. y'_{T-2}] (B, T); logits for y'_0 .. y'_{T-1} (B, T, K).

        ``labels`` (B,) may hold ``null_class`` for the unconditional model.
        """
        inp = torch.cat(
            [labels[:, None] + self.n_codes, tokens[:, : self.seq_len - 1]], 1
        )  # (B, T)
        t = inp.shape[1]
        x = self.tok(inp) + self.position(0, t)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))

    def loss(
        self, tokens: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Cross-entropy of the next token; tokens (B, T). Drops the class a share p_uncond."""
        if self.training and self.p_uncond > 0:
            drop = torch.rand(labels.shape, device=labels.device) < self.p_uncond
            labels = labels.masked_fill(drop, self.null_class)
        logits = self(tokens, labels)
        loss = F.cross_entropy(logits.reshape(-1, self.n_codes), tokens.reshape(-1))
        return loss, {"nll": loss.item()}

    @torch.no_grad()
    def nll(self, tokens: torch.Tensor, labels: torch.Tensor, batch: int = 500) -> float:
        """Mean negative log-likelihood per token, -log P(y'_t | y'_<t, X) in nats; tokens (N, T).

        On held-out tokens it says how hard this Y' is to predict from X (the paper's second
        principle); its gap to the training tokens says whether the prior memorises.
        """
        total = 0.0
        for i in range(0, len(tokens), batch):
            t, c = tokens[i : i + batch], labels[i : i + batch]
            logits = self(t, c)  # (B, T, K)
            total += F.cross_entropy(logits.flatten(0, 1), t.flatten(), reduction="sum").item()
        return total / tokens.numel()

    @torch.no_grad()
    def sample(
        self,
        labels: torch.Tensor,
        temperature: float = 1.0,
        top_k: int = 0,
        generator: torch.Generator | None = None,
        guidance: float = 0.0,
    ) -> torch.Tensor:
        """Ancestral sampling, one token at a time; labels (B,) -> tokens (B, T).

        temperature 0 takes the most likely token at each step (greedy decoding); ``guidance``
        w > 0 samples from logits_c + w (logits_c - logits_u) (classifier-free guidance).
        """
        b = labels.shape[0]
        if guidance:  # run the conditional and the unconditional model side by side: (2B,)
            labels = torch.cat([labels, torch.full_like(labels, self.null_class)])
        caches: list[list[torch.Tensor]] = [[] for _ in self.blocks]
        tok = labels + self.n_codes  # the class token starts the sequence
        out = []
        for t in range(self.seq_len):
            x = self.tok(tok)[:, None] + self.position(t, t + 1)  # (B or 2B, 1, C)
            for block, cache in zip(self.blocks, caches, strict=True):
                x = block.step(x, cache)
            logits = self.head(self.ln(x[:, 0]))  # (B or 2B, K): P(y'_t | y'_<t, X)
            if guidance:
                cond, uncond = logits[:b], logits[b:]
                logits = cond + guidance * (cond - uncond)
            if temperature == 0:
                nxt = logits.argmax(-1)
            else:
                logits = logits / temperature
                if top_k:
                    kth = logits.topk(min(top_k, self.n_codes), dim=-1).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
            out.append(nxt)
            tok = torch.cat([nxt, nxt]) if guidance else nxt
        return torch.stack(out, 1)  # (B, T)

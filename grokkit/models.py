"""The explorable's MLPs as plain parameter dicts: initialisation, a forward pass, collapsed weights.

Modular addition (explorable.md §1): a and b are one-hot vectors, embedded by ``embed``
(p x d), pushed through one shared ``hidden`` layer (d x H, no bias), summed, passed
through the activation, projected back by ``out`` (H x d) and unembedded by ``embed.T``
(tied), a separate ``unembed`` (untied) or a fixed cos/sin embedding (circular)::

    logits = act(embed[a] @ hidden + embed[b] @ hidden) @ out @ unembed.T

Everything before the activation is linear in the one-hot inputs, so the model is fully
described by the *collapsed* weights W_in = embed @ hidden (p x H) and
W_out = out @ unembed.T (H x p) -- the 24-neuron, 3,216-number picture the article shows::

    logits = act(W_in[a] + W_in[b]) @ W_out

The ``collapsed`` variant trains W_in and W_out themselves: its embedding is the fixed
p x p identity, so ``hidden`` *is* W_in (p x H) and ``out`` *is* W_out (H x p), and every
formula above holds unchanged. The explorable reports that this model, trained directly
with weight decay, does not generalize (explorable.md §5).

Sparse parity (§2): inputs are 30 bits plus a constant-1 bias column; ``hidden`` is
(n_bits + 1) x H, ``out`` is H x 1, and the single logit scores "odd parity".
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .configs import Config, ModAddConfig

# Haiku's truncated normal keeps +-2 standard deviations; VarianceScaling divides its
# stddev by this constant so that the truncated samples have the intended variance.
_TRUNC_STD_CORRECTION = 0.87962566103423978

# Embeddings that are constants rather than parameters.
FIXED_EMBEDDINGS = ("circular", "collapsed")


def circular_embedding(p: int, freqs: tuple[int, ...] = (1,), normalize: bool = True) -> np.ndarray:
    """The fixed cos/sin embedding, shape (p, 2 * len(freqs)); columns unit-norm if normalize."""
    i = np.arange(p)[:, None]
    cols = []
    for k in freqs:
        cols += [np.cos(2 * np.pi * i * k / p), np.sin(2 * np.pi * i * k / p)]
    emb = np.concatenate(cols, axis=1)
    if normalize:
        emb = emb / np.linalg.norm(emb, axis=0, keepdims=True)
    return emb


def _truncated_normal(shape: tuple[int, ...], std: float, gen: torch.Generator) -> torch.Tensor:
    """Normal samples truncated to +-2 std (redrawn, as Haiku does), in float64."""
    t = torch.empty(shape, dtype=torch.float64)
    torch.nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=gen)
    return t * std


def init_params(cfg: Config) -> dict[str, torch.Tensor]:
    """Trainable parameters of a config's model, seeded by cfg.seed (float64, CPU).

    Modular addition: embed (p x d, Haiku VarianceScaling(2), fan_in p), [unembed],
    hidden (d x H, TruncatedNormal(1/sqrt(d))), out (H x d, TruncatedNormal(1/sqrt(H))).
    Collapsed: hidden = W_in (p x H, VarianceScaling(2) like the embedding) and out = W_out
    (H x p, TruncatedNormal(1/sqrt(H))), as the explorable's code initialises its collapsed
    variant (the embedding feeds the ReLU directly; a Linear(p) replaces out @ embed.T).
    Parity: hidden ((n_bits + 1) x H) and out (H x 1), both TruncatedNormal(1/sqrt(fan_in)).
    All scaled by cfg.init_scale.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    s = cfg.init_scale
    params: dict[str, torch.Tensor] = {}
    if isinstance(cfg, ModAddConfig):
        d, h, p = cfg.embed_size, cfg.hidden_size, cfg.p
        embed_std = math.sqrt(2.0 / p) / _TRUNC_STD_CORRECTION
        if cfg.embedding == "collapsed":
            params["hidden"] = _truncated_normal((p, h), embed_std, gen) * s
            params["out"] = _truncated_normal((h, p), 1 / math.sqrt(h), gen) * s
            return params
        if cfg.embedding != "circular":
            params["embed"] = _truncated_normal((p, d), embed_std, gen) * s
        if cfg.embedding == "untied":
            params["unembed"] = _truncated_normal((p, d), embed_std, gen) * s
        params["hidden"] = _truncated_normal((d, h), 1 / math.sqrt(d), gen) * s
        params["out"] = _truncated_normal((h, d), 1 / math.sqrt(h), gen) * s
    else:
        n_in = cfg.n_bits + 1
        params["hidden"] = _truncated_normal((n_in, cfg.hidden_size), 1 / math.sqrt(n_in), gen) * s
        params["out"] = _truncated_normal((cfg.hidden_size, 1), 1 / math.sqrt(cfg.hidden_size), gen) * s
    return params


def fixed_embedding(cfg: ModAddConfig) -> np.ndarray | None:
    """The constant embedding: circular (p x 2F), collapsed (the p x p identity); None for learned embeddings."""
    if cfg.embedding == "circular":
        return circular_embedding(cfg.p, cfg.circular_freqs)
    if cfg.embedding == "collapsed":
        return np.eye(cfg.p)
    return None


def _embeddings(params: dict, cfg: ModAddConfig):
    """(input embedding, unembedding) as arrays or tensors, whichever params holds."""
    if cfg.embedding in FIXED_EMBEDDINGS:
        e = fixed_embedding(cfg)
        if isinstance(params["hidden"], torch.Tensor):
            e = torch.as_tensor(e, dtype=params["hidden"].dtype, device=params["hidden"].device)
        return e, e
    return params["embed"], params.get("unembed", params["embed"])


def collapse(params: dict, cfg: Config):
    """Collapsed weights (W_in, W_out): p x H and H x p (parity: (n_bits+1) x H and H x 1).

    Works on numpy arrays or torch tensors, with or without a leading snapshot axis.
    """
    if not isinstance(cfg, ModAddConfig):
        return params["hidden"], params["out"]
    e_in, e_out = _embeddings(params, cfg)
    w_in = e_in @ params["hidden"]
    w_out = params["out"] @ (e_out.swapaxes(-1, -2) if hasattr(e_out, "swapaxes") else e_out.T)
    return w_in, w_out


def activation(x: torch.Tensor, kind: str) -> torch.Tensor:
    """ReLU or x**2."""
    return torch.relu(x) if kind == "relu" else x * x


def forward(params: dict[str, torch.Tensor], cfg: Config, x: torch.Tensor) -> torch.Tensor:
    """Logits of the model, literally as the explorable computes them (no collapsing).

    Modular addition: x holds (a, b) pairs, shape (n, 2) -> logits (n, p).
    Parity: x holds bit rows with the bias column, (n, n_bits + 1) -> logits (n, 1).
    """
    if not isinstance(cfg, ModAddConfig):
        return activation(x @ params["hidden"], cfg.activation) @ params["out"]
    e_in, e_out = _embeddings(params, cfg)
    one_hot_a = torch.nn.functional.one_hot(x[:, 0], cfg.p).to(params["hidden"].dtype)
    one_hot_b = torch.nn.functional.one_hot(x[:, 1], cfg.p).to(params["hidden"].dtype)
    pre = (one_hot_a @ e_in) @ params["hidden"] + (one_hot_b @ e_in) @ params["hidden"]
    return activation(pre, cfg.activation) @ params["out"] @ e_out.T


def count_parameters(cfg: Config) -> dict[str, int]:
    """Trainable parameter count ('raw') and the collapsed count the article quotes ('collapsed')."""
    shapes = {k: tuple(v.shape) for k, v in init_params(cfg).items()}
    raw = sum(math.prod(s) for s in shapes.values())
    if isinstance(cfg, ModAddConfig):
        collapsed = 2 * cfg.p * cfg.hidden_size
    else:
        collapsed = (cfg.n_bits + 1) * cfg.hidden_size + cfg.hidden_size
    return {"raw": raw, "collapsed": collapsed}


__all__ = [
    "FIXED_EMBEDDINGS", "circular_embedding", "init_params", "fixed_embedding", "collapse", "activation", "forward",
    "count_parameters",
]

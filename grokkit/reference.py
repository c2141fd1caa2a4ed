"""The straightforward implementation: the article's models as ``torch.nn.Module``, autograd, ``torch.optim.AdamW``.

This is what the fast engine (:mod:`grokkit.training`) is checked against: the literal
layers (one-hot inputs through the full embedding, no collapsed weights), the loss
written as the article scales it, gradients from ``loss.backward()``. A test trains every
option both ways and compares; the speed benchmark times it beside the engine.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import models
from .configs import Config, ModAddConfig
from .tasks import make_split


class ModAddMLP(nn.Module):
    """The article's modular-addition MLP: embed a and b, a shared hidden layer, activation of the sum, out, unembed."""

    def __init__(self, cfg: ModAddConfig):
        super().__init__()
        self.cfg = cfg
        init = models.init_params(cfg)
        if cfg.embedding in models.FIXED_EMBEDDINGS:     # circular, or the identity of the collapsed model
            self.register_buffer("fixed_embed", torch.as_tensor(models.fixed_embedding(cfg)))
        else:
            self.embed = nn.Parameter(init["embed"])
        if cfg.embedding == "untied":
            self.unembed = nn.Parameter(init["unembed"])
        self.hidden = nn.Parameter(init["hidden"])
        self.out = nn.Parameter(init["out"])

    def forward(self, a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (N, p) of the pairs (a, b); ``mask`` multiplies the hidden activations (dropout)."""
        e_in = self.fixed_embed if self.cfg.embedding in models.FIXED_EMBEDDINGS else self.embed
        e_out = self.unembed if self.cfg.embedding == "untied" else e_in
        one_hot_a = nn.functional.one_hot(a, self.cfg.p).to(e_in.dtype)
        one_hot_b = nn.functional.one_hot(b, self.cfg.p).to(e_in.dtype)
        h = models.activation((one_hot_a @ e_in) @ self.hidden + (one_hot_b @ e_in) @ self.hidden, self.cfg.activation)
        if mask is not None:
            h = h * mask
        return h @ self.out @ e_out.T


class ParityMLP(nn.Module):
    """The sparse-parity MLP: bits (with a constant-1 column) through one hidden layer to one logit."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        init = models.init_params(cfg)
        self.hidden = nn.Parameter(init["hidden"])
        self.out = nn.Parameter(init["out"])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per row of x (N, n_bits + 1), shape (N,)."""
        h = models.activation(x @ self.hidden, self.cfg.activation)
        if mask is not None:
            h = h * mask
        return (h @ self.out)[:, 0]


def article_objective(cfg: Config, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss training minimises: cross-entropy / p (softmax or StableMax); parity: sigmoid cross-entropy / 2."""
    if not isinstance(cfg, ModAddConfig):
        return nn.functional.binary_cross_entropy_with_logits(logits, y) / 2
    if cfg.loss == "stablemax":
        s = torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0)))
        log_probs = torch.log(s / s.sum(-1, keepdim=True))
        return nn.functional.nll_loss(log_probs, y) / cfg.p
    return nn.functional.cross_entropy(logits, y) / cfg.p


def train_reference(config: Config, steps: int | None = None) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train ``config`` the straightforward way; returns the final raw parameters and the objective per step.

    Dropout masks come from the same seeded generator as the engine's, so both see the
    same masks; L1 decay and Grokfast act on the gradients before AdamW, as in the engine.
    ``matmul_rounding`` is the engine's alone (its products are not the literal model's).
    """
    if getattr(config, "matmul_rounding", "none") != "none":
        raise ValueError(f"matmul_rounding = {config.matmul_rounding!r} is not allowed here: train_reference "
                         "multiplies in full float32 or float64 ('none'); grokkit.train rounds its own products")
    steps = config.steps if steps is None else steps
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    model = (ModAddMLP(config) if isinstance(config, ModAddConfig) else ParityMLP(config)).to(dtype)
    split = make_split(config)
    x, y = torch.as_tensor(split.train_x), torch.as_tensor(split.train_y)
    if isinstance(config, ModAddConfig):
        inputs = (x[:, 0], x[:, 1])
    else:
        inputs, y = (x.to(dtype),), y.to(dtype)
    params = dict(model.named_parameters())
    opt = torch.optim.AdamW(params.values(), lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps,
                            weight_decay=config.weight_decay if config.regularizer == "l2" else 0.0)
    dropout_gen = torch.Generator().manual_seed(10_000 + config.seed)
    ema = {k: torch.zeros_like(v) for k, v in params.items()}
    losses = []
    for _ in range(steps):
        mask = None
        if config.dropout > 0:
            mask = torch.ones(len(y), config.hidden_size, dtype=dtype)
            mask.bernoulli_(1 - config.dropout, generator=dropout_gen).div_(1 - config.dropout)
        loss = article_objective(config, model(*inputs, mask=mask), y)
        opt.zero_grad()
        loss.backward()
        with torch.no_grad():
            for k, v in params.items():
                if config.regularizer == "l1":
                    v.grad.add_(config.weight_decay * torch.sign(v))
                if config.grokfast_lambda > 0:
                    ema[k].mul_(config.grokfast_alpha).add_((1 - config.grokfast_alpha) * v.grad)
                    v.grad.add_(config.grokfast_lambda * ema[k])
        opt.step()
        losses.append(float(loss.detach()))
    return {k: v.detach().numpy() for k, v in params.items()}, losses


__all__ = ["ModAddMLP", "ParityMLP", "article_objective", "train_reference"]

"""A one-layer transformer on modular addition: the "larger model" of notebook 07.

The model of Nanda et al.'s progress-measures paper, shrunk to train on a laptop CPU:
tokens ``a b =``, a learned token and position embedding, one attention layer, one ReLU
MLP, an unembedding read at the ``=`` position, no LayerNorm, full-batch AdamW. Unlike
the explorable's MLP it is not symmetric in a and b, so it trains on ordered pairs.

Everything lives in this one file, readable top to bottom: the config, the parameters,
the forward pass, the training loop and the record it returns. It uses PyTorch's
autograd (speed matters less here than clarity: a step takes a few milliseconds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from .configs import (
    FLOP_PER_SECOND, SECONDS_PER_STEP, _check_common_training_fields, _check_cost, _check_int,
    _check_positive_ints, _check_real, _fail, _n_scheduled,
)
from .parallel import threads_to_use
from .run import Run, schedule
from .tasks import modadd_split

TRANSFORMER_METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm")


def _transformer_cost(v: dict) -> tuple[int, int]:
    """(bytes, FLOP) estimate of training one transformer with the field values ``v``: float32, autograd."""
    p, d, m, steps = v["p"], v["d_model"], v["d_mlp"], v["steps"]
    n_all = p * p
    n_train = int(Fraction(v["train_fraction"]) * n_all)
    n_log, n_save = _n_scheduled(steps, v["log_every"]), _n_scheduled(steps, v["save_every"])
    params = (p + 1) * d + 3 * d + 4 * d * d + 2 * d * m + m + d * p
    per_example = 3 * 6 * d + 2 * m + 3 * v["n_heads"] + p      # activations autograd keeps
    memory = 4 * (5 * params + 2 * n_all * per_example + n_save * p * d) + 2 * 8 * n_all + 5 * 8 * n_log
    flop_per_example = 2 * (3 * 3 * d * d + d * d + 2 * d * m + d * p)
    work = (3 * steps * n_train * flop_per_example + n_log * (n_all - n_train) * flop_per_example
            + steps * int(SECONDS_PER_STEP * FLOP_PER_SECOND))
    return memory, work


@dataclass(frozen=True)
class TransformerConfig:
    """A one-layer transformer on (a + b) mod p; every value is checked when the config is made."""

    p: int = 31
    train_fraction: float = 0.6
    d_model: int = 64
    n_heads: int = 4
    d_mlp: int = 256
    lr: float = 3e-3
    weight_decay: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.98
    steps: int = 2_500
    log_every: int = 25
    save_every: int = 250
    seed: int = 0
    grokfast_alpha: float = 0.0
    grokfast_lambda: float = 0.0

    def __post_init__(self) -> None:
        n = type(self).__name__
        _check_int(self, "p", "an integer >= 3", lambda v: v >= 3)
        _check_real(self, "train_fraction", "in (0, 1), leaving pairs to test on", lambda v: 0.0 < v < 1.0)
        _check_positive_ints(self, "d_model", "n_heads", "d_mlp")
        if self.d_model % self.n_heads:
            _fail(n, "n_heads", self.n_heads, f"a divisor of d_model = {self.d_model}")
        _check_common_training_fields(self)
        _check_cost(self, _transformer_cost)
        if self.n_train < 1:
            _fail(n, "train_fraction", self.train_fraction, f"large enough to keep one of the {self.p ** 2} pairs")
        if self.n_train >= self.p * self.p:
            _fail(n, "train_fraction", self.train_fraction,
                  f"small enough to leave some of the {self.p ** 2} pairs to test on")

    @property
    def task(self) -> str:
        """The task name: 'modadd' (ordered pairs, read by a transformer)."""
        return "modadd"

    @property
    def n_classes(self) -> int:
        """Number of output classes (p)."""
        return self.p

    @property
    def n_train(self) -> int:
        """Number of training pairs (ordered pairs, so p * p in all)."""
        return int(self.train_fraction * self.p * self.p)


def init_params(cfg: TransformerConfig) -> dict[str, torch.Tensor]:
    """Seeded parameters: normal with std 1/sqrt(fan_in), zero biases (token p is '=')."""
    gen = torch.Generator().manual_seed(cfg.seed)
    d, h, m = cfg.d_model, cfg.n_heads, cfg.d_mlp

    def normal(*shape: int, fan_in: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) / fan_in ** 0.5

    return {
        "W_E": normal(cfg.p + 1, d, fan_in=d),
        "W_pos": normal(3, d, fan_in=d),
        "W_Q": normal(d, d, fan_in=d),
        "W_K": normal(d, d, fan_in=d),
        "W_V": normal(d, d, fan_in=d),
        "W_O": normal(d, d, fan_in=d),
        "W_in": normal(d, m, fan_in=d),
        "b_in": torch.zeros(m),
        "W_out": normal(m, d, fan_in=m),
        "W_U": normal(d, cfg.p, fan_in=d),
    }


def forward(params: dict[str, torch.Tensor], cfg: TransformerConfig, pairs: torch.Tensor) -> torch.Tensor:
    """Logits (n, p) read at the '=' position for the inputs ``pairs`` (n, 2) of integers."""
    n, d, h = len(pairs), cfg.d_model, cfg.n_heads
    equals = torch.full((n, 1), cfg.p, dtype=torch.long)
    x = params["W_E"][torch.cat([pairs, equals], dim=1)] + params["W_pos"]            # (n, 3, d)
    # Only the '=' position is read out, so only it needs a query (it sees all three tokens).
    q = (x[:, 2] @ params["W_Q"]).view(n, h, 1, d // h)
    k = (x @ params["W_K"]).view(n, 3, h, d // h).transpose(1, 2)                     # (n, h, 3, d/h)
    v = (x @ params["W_V"]).view(n, 3, h, d // h).transpose(1, 2)
    attn = torch.softmax(q @ k.transpose(-1, -2) / (d // h) ** 0.5, dim=-1)            # (n, h, 1, 3)
    resid = x[:, 2] + (attn @ v).reshape(n, d) @ params["W_O"]
    resid = resid + torch.relu(resid @ params["W_in"] + params["b_in"]) @ params["W_out"]
    return resid @ params["W_U"]


@dataclass(repr=False)
class TransformerRun(Run):
    """A trained transformer, as the :class:`grokkit.run.Run` record every figure reads.

    ``W_in`` holds the snapshots of the number tokens' embedding (rows 0..p-1 of W_E,
    shape (snapshots, p, d_model)) and ``W_out`` those of the unembedding W_U
    (snapshots, d_model, p); ``params`` are the final parameters.
    """

    params: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def embeddings(self) -> np.ndarray:
        """The number tokens' embedding at every snapshot, (snapshots, p, d_model)."""
        return self.W_in

    def __repr__(self) -> str:
        m = self.metrics
        return (f"TransformerRun(p={self.config.p}, seed={self.config.seed}, steps={self.config.steps}, "
                f"final train_acc={m['train_acc'][-1]:.3f}, test_acc={m['test_acc'][-1]:.3f})")


def train_transformer(cfg: TransformerConfig) -> TransformerRun:
    """Train one transformer full-batch with AdamW (plus the Grokfast filter if its lambda > 0)."""
    if not isinstance(cfg, TransformerConfig):
        raise TypeError(f"cfg must be a TransformerConfig, not {type(cfg).__name__}")
    threads_to_use()
    split = modadd_split(cfg.p, cfg.train_fraction, symmetric=False, seed=cfg.seed)
    train_x, train_y = torch.as_tensor(split.train_x), torch.as_tensor(split.train_y)
    test_x, test_y = torch.as_tensor(split.test_x), torch.as_tensor(split.test_y)
    params = {k: v.requires_grad_() for k, v in init_params(cfg).items()}
    opt = torch.optim.AdamW(params.values(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                            weight_decay=cfg.weight_decay, foreach=True)
    slow = {k: torch.zeros_like(v) for k, v in params.items()} if cfg.grokfast_lambda > 0 else None
    log_steps, save_steps = schedule(cfg.steps, cfg.log_every), schedule(cfg.steps, cfg.save_every)
    log_at, save_at = set(log_steps.tolist()), set(save_steps.tolist())
    logs: dict[str, list[float]] = {k: [] for k in TRANSFORMER_METRICS}
    embeddings, unembeddings = [], []
    start = time.perf_counter()
    for step in range(cfg.steps + 1):
        if step in save_at:
            embeddings.append(params["W_E"][:cfg.p].detach().numpy().copy())
            unembeddings.append(params["W_U"].detach().numpy().copy())
        logging = step in log_at
        logits = forward(params, cfg, train_x)
        loss = torch.nn.functional.cross_entropy(logits, train_y)
        if logging:
            with torch.no_grad():
                test_logits = forward(params, cfg, test_x)
                logs["train_loss"].append(loss.item())
                logs["test_loss"].append(torch.nn.functional.cross_entropy(test_logits, test_y).item())
                logs["train_acc"].append((logits.argmax(-1) == train_y).float().mean().item())
                logs["test_acc"].append((test_logits.argmax(-1) == test_y).float().mean().item())
                logs["l2_norm"].append(sum(float((v ** 2).sum()) for v in params.values()) ** 0.5)
        if step == cfg.steps:
            break
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if slow is not None:
            # Grokfast-EMA (Lee et al. 2024): amplify the slow-moving part of the gradient.
            with torch.no_grad():
                for k, v in params.items():
                    slow[k].mul_(cfg.grokfast_alpha).add_(v.grad, alpha=1 - cfg.grokfast_alpha)
                    v.grad.add_(slow[k], alpha=cfg.grokfast_lambda)
        opt.step()
    return TransformerRun(
        config=cfg, steps=log_steps, metrics={k: np.asarray(v) for k, v in logs.items()},
        snapshot_steps=save_steps, snapshots={}, W_in=np.stack(embeddings), W_out=np.stack(unembeddings),
        params={k: v.detach().numpy().copy() for k, v in params.items()},
        seconds=time.perf_counter() - start,
    )


def held_out_accuracy(run: TransformerRun, embedding: np.ndarray | None = None) -> float:
    """Accuracy on the run's test pairs of its final model, optionally with the numbers' embedding replaced.

    ``embedding`` (p, d_model) stands in for the rows of W_E of the tokens 0..p-1 (the '='
    token keeps its own): the way to ask which parts of the embedding the model needs.
    """
    cfg = run.config
    params = {k: torch.as_tensor(v) for k, v in run.params.items()}
    if embedding is not None:
        embedding = np.asarray(embedding, np.float32)
        if embedding.shape != (cfg.p, cfg.d_model):
            raise ValueError(f"embedding has shape {embedding.shape}: it must be (p, d_model) = {(cfg.p, cfg.d_model)}")
        params["W_E"] = torch.cat([torch.as_tensor(embedding), params["W_E"][cfg.p:]])
    split = modadd_split(cfg.p, cfg.train_fraction, symmetric=False, seed=cfg.seed)
    with torch.no_grad():
        logits = forward(params, cfg, torch.as_tensor(split.test_x))
    return float((logits.argmax(-1).numpy() == split.test_y).mean())


__all__ = ["TransformerConfig", "TransformerRun", "TRANSFORMER_METRICS", "init_params", "forward",
           "train_transformer", "held_out_accuracy"]

"""Checks for notebook 01b (Build the model yourself).

The learner writes the article's model as a ``torch.nn.Module``, its loss and a
full-batch AdamW loop; these checks compare them with grokkit's engine on the same
seed and initial weights, in float64 (where the two agree to ~1e-15), and name the
mistake when a plausible wrong version is handed in: an untied unembedding, a bias,
the loss not divided by p, weight decay folded into the loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from grokkit.configs import PAIR_MODADD, ModAddConfig
from grokkit.course.core import CheckFailed, passed
from grokkit.course.i18n import N_, _
from grokkit.models import forward, init_params
from grokkit.run import article_loss
from grokkit.tasks import make_split
from grokkit.training import train

__all__ = [
    "ARTICLE",
    "MATCH_RTOL",
    "training_tensors",
    "load_engine_weights",
    "engine_losses",
    "reference_losses",
    "check_model",
    "check_loss",
    "check_training",
    "check_collapsed_logits",
    "check_engine_gradients",
]

# The article's model trained in float64: the module and the engine then agree to ~1e-15
# (measured 2.4e-15 relative after 300 steps); in float32 their different summation orders
# drift apart by ~1e-3 within 300 steps, which says nothing about the mathematics.
ARTICLE = replace(PAIR_MODADD, dtype="float64")
MATCH_RTOL = 1e-9
# Steps the training checks run (the notebook trains longer itself).
CHECK_STEPS = 30
SHAPES = {"embed": ("p", "d"), "hidden": ("d", "h"), "out": ("h", "d")}


def _fail(message: str) -> None:
    raise CheckFailed(message)


def _sizes(cfg: ModAddConfig) -> dict[str, int]:
    return {"p": cfg.p, "d": cfg.embed_size, "h": cfg.hidden_size}


def training_tensors(cfg: ModAddConfig = ARTICLE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(a, b, y) of the config's training pairs, as int64 tensors of length n_train."""
    split = make_split(cfg)
    x = torch.as_tensor(split.train_x)
    return x[:, 0], x[:, 1], torch.as_tensor(split.train_y)


def load_engine_weights(model: torch.nn.Module, cfg: ModAddConfig = ARTICLE) -> torch.nn.Module:
    """Copy the engine's initial weights for cfg.seed into the module's embed, hidden and out; return it."""
    params = dict(model.named_parameters())
    sizes = _sizes(cfg)
    for name, (rows, cols) in SHAPES.items():
        want = (sizes[rows], sizes[cols])
        if name not in params or tuple(params[name].shape) != want:
            _fail(_("the module needs a parameter named {name!r} of shape {shape} ({rows} x {cols}); it has {has}").format(
                name=name, shape=want, rows=rows, cols=cols, has=_describe(params)))
    with torch.no_grad():
        for name, value in init_params(cfg).items():
            params[name].copy_(value)
    return model


def _describe(params: dict[str, torch.Tensor]) -> str:
    return ", ".join(f"{n} {tuple(p.shape)}" for n, p in params.items()) or _("no parameters")


def reference_losses(a: torch.Tensor, b: torch.Tensor, y: torch.Tensor, steps: int, *,
                     cfg: ModAddConfig = ARTICLE, variant: str = "article") -> np.ndarray:
    """Article-scale losses before each of ``steps`` updates of a plain autograd loop, as the article
    trains (variant "article") or with one of the mistakes the checks name."""
    params = {k: v.clone().requires_grad_(True) for k, v in init_params(cfg).items()}
    wd = 0.0 if variant in ("decay_in_loss", "half_decay_in_loss") else cfg.weight_decay
    opt = torch.optim.AdamW(params.values(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=wd)
    x = torch.stack([a, b], dim=1)
    losses = []
    for _step in range(steps):
        ce = torch.nn.functional.cross_entropy(forward(params, cfg, x), y)
        loss = ce if variant == "not_divided" else ce / cfg.p
        losses.append(float(ce.detach()) / cfg.p)
        if variant in ("decay_in_loss", "half_decay_in_loss"):
            factor = 1.0 if variant == "decay_in_loss" else 0.5
            loss = loss + factor * cfg.weight_decay * sum((w ** 2).sum() for w in params.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(losses)


def engine_losses(steps: int, cfg: ModAddConfig = ARTICLE) -> np.ndarray:
    """grokkit's engine: article-scale training losses at steps 0 .. steps-1 (before each update)."""
    run = train(replace(cfg, steps=steps, log_every=1, save_every=steps), progress=False)
    return np.asarray(article_loss(run.metrics["train_loss"], cfg))[:steps]


# --------------------------------------------------------------------------- 1b.1


def _logit_variants(params: dict[str, torch.Tensor], cfg: ModAddConfig, a, b) -> dict[str, torch.Tensor]:
    """Logits of plausible wrong forward passes, to name a learner's mistake."""
    E, H, O = params["embed"], params["hidden"], params["out"]
    pa, pb = E[a] @ H, E[b] @ H
    return {
        N_("ReLU is applied to each number's hidden values before adding them; the article adds, "
           "then applies the ReLU"): (torch.relu(pa) + torch.relu(pb)) @ O @ E.T,
        N_("there is no ReLU: apply torch.relu to the sum of the two hidden vectors"): (pa + pb) @ O @ E.T,
        N_("the logits are softmaxed: return the raw scores, the loss applies the softmax"):
            torch.softmax(torch.relu(pa + pb) @ O @ E.T, -1),
    }


def check_model(model_class: Callable[..., torch.nn.Module], cfg: ModAddConfig = ARTICLE) -> None:
    """Exercise 1b.1: ``model_class(p, d, h)`` is the article's model; its logits match grokkit.models.forward."""
    sizes = _sizes(cfg)
    model = model_class(sizes["p"], sizes["d"], sizes["h"]).double()
    params = dict(model.named_parameters())
    biases = [n for n, w in params.items() if w.dim() == 1]
    if biases:
        _fail(_("the model has a bias ({name}, shape {shape}): the article's layers have none; use "
                "torch.nn.Parameter matrices (or torch.nn.Linear(..., bias=False))").format(
            name=biases[0], shape=tuple(params[biases[0]].shape)))
    square = [(n, tuple(w.shape)) for n, w in params.items()
              if tuple(w.shape) in ((sizes["p"], sizes["d"]), (sizes["d"], sizes["p"]))]
    if len(square) > 1:
        _fail(_("untied unembedding: the model has {n} matrices of the embedding's size ({which}); the article "
                "ties them, turning the 500 output values into 67 logits with embed.T, the transpose of the "
                "input embedding").format(n=len(square), which=", ".join(f"{n} {s}" for n, s in square)))
    n_params = sum(w.numel() for w in params.values())
    want = sizes["p"] * sizes["d"] + 2 * sizes["d"] * sizes["h"]
    if n_params != want:
        _fail(_("the model has {n:,} parameters ({has}); the article's has {want:,}: embed (p x d), hidden (d x h) "
                "and out (h x d)").format(n=n_params, has=_describe(params), want=want))
    load_engine_weights(model, cfg)
    pairs = torch.cartesian_prod(torch.arange(cfg.p), torch.arange(cfg.p))
    with torch.no_grad():
        got = model(pairs[:, 0], pairs[:, 1])
        want_logits = forward(init_params(cfg), cfg, pairs)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want_logits.shape):
            _fail(_("model(a, b) for {n} pairs should return logits of shape {shape}, got {got}").format(
                n=len(pairs), shape=tuple(want_logits.shape), got=getattr(got, "shape", type(got).__name__)))
        error = float((got - want_logits).abs().max() / want_logits.abs().max())
        if error > MATCH_RTOL:
            for mistake, logits in _logit_variants(dict(init_params(cfg)), cfg, pairs[:, 0], pairs[:, 1]).items():
                if float((got - logits).abs().max() / logits.abs().max()) < MATCH_RTOL:
                    _fail(_(mistake))
            _fail(_("with the engine's initial weights your logits differ from the article's model by {error:.2g} "
                    "(relative): logits = relu(embed[a] @ hidden + embed[b] @ hidden) @ out @ embed.T").format(error=error))
    passed("check_model", _("{n:,} parameters, logits equal to grokkit's model to {error:.1g}").format(
        n=n_params, error=error))


# --------------------------------------------------------------------------- 1b.2


def check_loss(loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], cfg: ModAddConfig = ARTICLE) -> None:
    """Exercise 1b.2: ``loss_fn(logits, y)`` is mean cross-entropy divided by p, a tensor autograd can follow."""
    gen = torch.Generator().manual_seed(1)
    logits = (3 * torch.randn(cfg.n_train, cfg.p, generator=gen, dtype=torch.float64)).requires_grad_(True)
    y = torch.randint(0, cfg.p, (cfg.n_train,), generator=gen)
    got = loss_fn(logits, y)
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        _fail(_("loss_fn(logits, y) should return a one-number tensor, got {type} (return the tensor itself, "
                "not .item(): AdamW needs its gradient)").format(type=type(got).__name__))
    if not got.requires_grad:
        _fail(_("the loss has no gradient: compute it with torch operations on the logits, not numpy"))
    ce = float(torch.nn.functional.cross_entropy(logits.detach(), y))
    value = float(got.detach())
    for wrong, mistake in (
        (ce, _("the loss is not divided by p = {p}: the article's loss is the mean cross-entropy "
               "divided by the number of classes").format(p=cfg.p)),
        (ce * cfg.n_train / cfg.p, _("the cross-entropy is summed over the examples: take the mean, then divide by p")),
        (ce * cfg.n_train, _("the cross-entropy is summed over the examples and not divided by p")),
    ):
        if abs(value - wrong) <= 1e-9 * abs(wrong):
            _fail(mistake)
    if abs(value - ce / cfg.p) > 1e-9 * ce / cfg.p:
        _fail(_("for these logits the loss should be {want:.6g} (mean cross-entropy / {p}), got {got:.6g}").format(
            want=ce / cfg.p, p=cfg.p, got=value))
    passed("check_loss", _("mean cross-entropy divided by p"))


# --------------------------------------------------------------------------- 1b.3

# The mistakes a training loop is checked for, as reference_losses variants.
LOOP_MISTAKES = {
    "decay_in_loss": N_("weight decay is folded into the loss (an L2 penalty, with AdamW's own weight decay "
                        "off): AdamW applies weight decay to the weights directly, outside the gradient; "
                        "keep the loss the article's and pass weight_decay=1.0 to AdamW"),
    "half_decay_in_loss": N_("weight decay is folded into the loss (a penalty (wd / 2) * sum of squares, or "
                             "torch.optim.Adam(weight_decay=...), which adds wd * w to the gradient): AdamW "
                             "decays the weights directly, outside the gradient; use torch.optim.AdamW with "
                             "weight_decay=1.0 and the article's loss"),
    "not_divided": N_("the loop minimizes the cross-entropy not divided by p (the losses it reports are "
                      "divided, but the gradients are p times the article's)"),
}


def _first_gap(got: np.ndarray, want: np.ndarray) -> int | None:
    bad = np.flatnonzero(np.abs(got - want) > MATCH_RTOL * np.abs(want))
    return int(bad[0]) if len(bad) else None


def check_training(train_fn: Callable[..., Any], model_class: Callable[..., torch.nn.Module],
                   steps: int = CHECK_STEPS, cfg: ModAddConfig = ARTICLE) -> None:
    """Exercise 1b.3: ``train_fn(model, a, b, y, steps)`` returns the article-scale loss before each update,
    the same numbers as grokkit's engine from the same initial weights."""
    a, b, y = training_tensors(cfg)
    model = load_engine_weights(model_class(cfg.p, cfg.embed_size, cfg.hidden_size).double(), cfg)
    got = np.asarray([float(v) for v in train_fn(model, a, b, y, steps)], dtype=np.float64)
    want = engine_losses(steps, cfg)
    if got.shape != want.shape:
        _fail(_("train_fn(model, a, b, y, {steps}) should return {steps} losses (one before each update), "
                "got {got}").format(steps=steps, got=got.shape[0]))
    gap = _first_gap(got, want)
    if gap is None:
        passed("check_training", _("{steps} losses equal to grokkit's engine to {error:.1g} (relative)").format(
            steps=steps, error=np.max(np.abs(got - want) / want)))
        return
    if abs(got[0] - want[0] * cfg.p) <= 1e-9 * want[0] * cfg.p:
        _fail(_("the losses are not divided by p = {p}: report (and minimize) the article's loss, "
                "cross-entropy / p").format(p=cfg.p))
    if gap == 0 and got[0] > want[0]:
        squares = sum(float((w.double() ** 2).sum()) for w in init_params(cfg).values())
        factor = (got[0] - want[0]) / (cfg.weight_decay * squares)
        if any(abs(factor - f) < 1e-6 for f in (0.5, 1.0)):
            _fail(_("weight decay is folded into the loss (your first loss includes {factor:g} * weight_decay * "
                    "sum of squared weights): AdamW applies weight decay to the weights directly; return the "
                    "article's loss and pass weight_decay=1.0 to AdamW").format(factor=factor))
    if gap == 0:
        _fail(_("the first loss is {got:.8g}, the engine's {want:.8g}: start from the given model (its weights "
                "are the engine's) and record the loss before the first update").format(got=got[0], want=want[0]))
    for variant, mistake in LOOP_MISTAKES.items():
        other = reference_losses(a, b, y, steps, cfg=cfg, variant=variant)
        if _first_gap(got, other) is None:
            _fail(_(mistake))
    _fail(_("the losses leave grokkit's engine at step {gap}: yours {got:.10g}, the engine's {want:.10g}; check "
            "AdamW's settings (lr {lr}, betas ({beta1}, {beta2}), weight_decay {wd}) and that every step uses all "
            "{n} training pairs").format(gap=gap, got=got[gap], want=want[gap], lr=cfg.lr, beta1=cfg.beta1,
                                          beta2=cfg.beta2, wd=cfg.weight_decay, n=len(y)))


# --------------------------------------------------------------------------- 1b.4, 1b.5


def check_collapsed_logits(fn: Callable[..., torch.Tensor], model_class: Callable[..., torch.nn.Module],
                           cfg: ModAddConfig = ARTICLE) -> None:
    """Exercise 1b.4: ``fn(model, a, b)`` computes the logits from W_in and W_out only, equal to model(a, b)."""
    model = load_engine_weights(model_class(cfg.p, cfg.embed_size, cfg.hidden_size).double(), cfg)
    a, b, _labels = training_tensors(cfg)
    with torch.no_grad():
        got = fn(model, a, b)
        want = model(a, b)
    if tuple(got.shape) != tuple(want.shape):
        _fail(_("collapsed logits should have shape {want}, got {got}").format(
            want=tuple(want.shape), got=tuple(got.shape)))
    error = float((got - want).abs().max() / want.abs().max())
    if error > 1e-10:
        _fail(_("the collapsed logits differ from the module's by {error:.2g} (relative): "
                "W_in = embed @ hidden, W_out = out @ embed.T, logits = relu(W_in[a] + W_in[b]) @ W_out").format(
            error=error))
    passed("check_collapsed_logits", _("equal to the module's logits to {error:.1g}").format(error=error))


def check_engine_gradients(fn: Callable[..., dict[str, torch.Tensor]], model_class: Callable[..., torch.nn.Module],
                           loss_fn: Callable[..., torch.Tensor], cfg: ModAddConfig = ARTICLE) -> None:
    """Exercise 1b.5: ``fn(model, a, b, y)`` returns the gradients of embed, hidden and out computed by hand
    through the collapsed weights (the engine's way, no autograd), equal to autograd's on the module."""
    model = load_engine_weights(model_class(cfg.p, cfg.embed_size, cfg.hidden_size).double(), cfg)
    a, b, y = training_tensors(cfg)
    try:
        with torch.no_grad():  # the engine's step uses no autograd, and neither may this one
            got = fn(model, a, b, y)
    except RuntimeError as err:
        if "grad" in str(err):
            _fail(_("the gradients must be computed by hand, as the engine does, without autograd "
                    "(.backward() failed with autograd switched off: {error})").format(error=str(err).splitlines()[0]))
        raise
    model.zero_grad()
    loss_fn(model(a, b), y).backward()
    if not isinstance(got, dict):
        _fail(_("the result should be a dict with keys 'embed', 'hidden', 'out', got {type}").format(
            type=type(got).__name__))
    for name in SHAPES:
        if name not in got:
            _fail(_("the result should be a dict with keys 'embed', 'hidden', 'out'; {name!r} is missing").format(
                name=name))
        want = dict(model.named_parameters())[name].grad
        g = torch.as_tensor(got[name]).detach()
        if tuple(g.shape) != tuple(want.shape):
            _fail(_("the gradient of {name} should have shape {want}, got {got}").format(
                name=name, want=tuple(want.shape), got=tuple(g.shape)))
        error = float((g - want).abs().max() / want.abs().max())
        if error > 1e-9:
            hint = (_(" (embed gets two terms: one through W_in, one through W_out)") if name == "embed" else
                    _(" (a pair's neurons feed the gradient of both W_in[a] and W_in[b]; index_add_ adds repeats)")
                    if name == "hidden" else "")
            _fail(_("the gradient of {name} differs from autograd's by {error:.2g} (relative)").format(
                name=name, error=error) + hint)
    passed("check_engine_gradients", _("the gradients by hand through W_in and W_out equal autograd's"))

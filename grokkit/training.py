"""Training: full-batch AdamW on the article's models, one model or many at once.

This module is the whole engine; read it top to bottom.

1. **Collapsed weights.** The article's modular-addition model sends one-hot inputs through
   a 67 x 500 embedding and a 500 x 24 hidden layer. Everything before the ReLU is linear,
   so the model is fully described by two small matrices (see :mod:`grokkit.models`)::

       W_in  = embed @ hidden        (p x H)      logits = relu(W_in[a] + W_in[b]) @ W_out
       W_out = out @ unembed.T       (H x p)

   Each step computes W_in and W_out, does the per-example work in the 24-neuron space,
   and carries the gradients back to the raw parameters with the chain rule. It is the
   same mathematics as the literal model (:mod:`grokkit.reference` trains that one with
   autograd; a test compares the two), with about a tenth of the arithmetic.
2. **Many models on one axis.** Every tensor has a leading model axis: ``params["embed"]``
   of M models is (M, 67, 500), and products are batched (``torch.bmm``). A model's
   numbers do not depend on which other models share its stack (tested; see ``MKL_CBWR`` in ``grokkit/__init__.py`` and the sigmoid in
   :func:`parity_step`), so ``train_many(configs)`` gives what ``[train(c) for c in
   configs]`` gives, faster.
3. **The objective.** The article's loss is cross-entropy divided by the number of classes
   (the mean over examples *and* classes of ``-one_hot * log_softmax``), so Adam sees the
   gradients the article's code saw. Parity has one logit (sigmoid cross-entropy), divided
   by 2 as if it had two classes: this course's choice. The logged ``train_loss`` and
   ``test_loss`` are ordinary per-example cross-entropy (:func:`grokkit.article_loss`
   converts).
4. **The optimizer** is ``torch.optim.AdamW`` with one parameter group per model, since
   each model may have its own learning rate, betas, epsilon and weight decay. L1 weight
   decay and Grokfast change the gradients before AdamW sees them.

On the CPU every stack trains on one thread, so a model's numbers never depend on the
thread count either; with several free CPUs, stacks train side by side
(:mod:`grokkit.parallel` holds that machinery and the rule for how many CPUs a call uses).
"""

from __future__ import annotations

import threading
import time
from typing import Sequence

import numpy as np
import torch

from . import models
from .configs import Config, ModAddConfig, ParityConfig, config_to_dict
from .parallel import Progress, Stopped, plan_stacks, run_side_by_side, threads_to_use
from .run import METRICS, Run, schedule
from .tasks import make_split

class ModelStack:
    """M same-shaped models: parameters and gradients with a leading model axis, data, per-model settings."""

    def __init__(self, cfgs: Sequence[Config], device: torch.device):
        c0 = cfgs[0]
        self.cfgs, self.M, self.task = list(cfgs), len(cfgs), c0.task
        self.dtype = torch.float64 if c0.dtype == "float64" else torch.float32
        self.device = device
        self.activation = c0.activation
        self.matmul_rounding = getattr(c0, "matmul_rounding", "none")    # modular addition only
        dt, dev = self.dtype, device

        # Parameters under the names of models.init_params, stacked over models: (M, ...).
        inits = [models.init_params(c) for c in cfgs]
        self.params = {k: torch.stack([ini[k] for ini in inits]).to(dev, dt) for k in inits[0]}
        self.grads = {k: torch.zeros_like(v) for k, v in self.params.items()}

        # Data: every model has its own split (its seed), all of the same size.
        splits = [make_split(c) for c in cfgs]

        def stack(arrays: list[np.ndarray], dtype: torch.dtype | None = None) -> torch.Tensor:
            return torch.as_tensor(np.stack(arrays), device=dev, dtype=dtype)

        if self.task == "modadd":
            self.p, self.embedding = c0.p, c0.embedding
            # a and b as rows of the models' weights laid end to end: W.view(M * p, H)[a].
            self.train_a = self.flat(stack([s.train_x[:, 0] for s in splits]))    # (M, N)
            self.train_b = self.flat(stack([s.train_x[:, 1] for s in splits]))
            self.train_y = stack([s.train_y for s in splits])
            self.test_a = self.flat(stack([s.test_x[:, 0] for s in splits]))
            self.test_b = self.flat(stack([s.test_x[:, 1] for s in splits]))
            self.test_y = stack([s.test_y for s in splits])
            self.train_one_hot = torch.nn.functional.one_hot(self.train_y, self.p).to(dt)
            if self.embedding in models.FIXED_EMBEDDINGS:    # cos/sin columns, or the identity (collapsed)
                e = torch.as_tensor(models.fixed_embedding(c0), dtype=dt, device=dev)
                self.fixed_embed = e.expand(self.M, *e.shape)
        else:
            self.train_x = stack([s.train_x for s in splits], dt)     # (M, N, n_bits + 1)
            self.train_y = stack([s.train_y for s in splits], dt)     # (M, N)
            self.test_x = stack([s.test_x for s in splits], dt)
            self.test_y = stack([s.test_y for s in splits], dt)
        self.n_train = self.train_y.shape[1]

        # Per-model settings, shaped (M, 1, 1) to broadcast over a model's matrices.
        def per_model(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=dt, device=dev).view(-1, 1, 1)

        self.use_l1 = any(c.regularizer == "l1" and c.weight_decay > 0 for c in cfgs)
        self.l1_decay = per_model([c.weight_decay if c.regularizer == "l1" else 0.0 for c in cfgs])
        self.grokfast_alpha = per_model([c.grokfast_alpha for c in cfgs])
        self.grokfast_lambda = per_model([c.grokfast_lambda for c in cfgs])
        self.grokfast_ema = ({k: torch.zeros_like(v) for k, v in self.params.items()}
                             if any(c.grokfast_lambda > 0 for c in cfgs) else None)
        self.dropout = [c.dropout for c in cfgs]
        self.stopped: list[int] = []     # diverged models, frozen at zero
        self.dropout_generators = [torch.Generator(device=dev).manual_seed(10_000 + c.seed) for c in cfgs]

    def flat(self, index: torch.Tensor) -> torch.Tensor:
        """Model m's row index i (0 <= i < p) as the row m * p + i of all models' (M, p, H) weights viewed as (M * p, H)."""
        return index + self.p * torch.arange(self.M, device=index.device).unsqueeze(1)

    def collapsed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(W_in, W_out) of every model: (M, p, H) and (M, H, p); parity's (M, n_bits+1, H) and (M, H, 1)."""
        if self.task != "modadd":
            return self.params["hidden"], self.params["out"]
        e_in, e_out = self.embeddings()
        W_in = self.matmul(e_in, self.params["hidden"])
        W_out = self.matmul(self.params["out"], e_out.transpose(1, 2))
        return W_in, W_out

    def matmul(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batched product x @ y of modular addition; with matmul_rounding, of x and y rounded first."""
        if self.matmul_rounding == "none":
            return torch.bmm(x, y)
        return torch.bmm(round_inputs(x, self.matmul_rounding), round_inputs(y, self.matmul_rounding))

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(input embedding, unembedding), each (M, p, d): tied, untied, the fixed circle or the identity."""
        if self.embedding in models.FIXED_EMBEDDINGS:
            return self.fixed_embed, self.fixed_embed
        return self.params["embed"], self.params.get("unembed", self.params["embed"])

    def activate(self, pre: torch.Tensor) -> torch.Tensor:
        """The hidden activation: ReLU or x**2."""
        return torch.relu(pre) if self.activation == "relu" else pre * pre

    def activation_grad(self, d_h: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """Carry d(loss)/d(h) back through the activation to d(loss)/d(pre) (in place, into d_h)."""
        if self.activation == "relu":    # d_h where pre > 0, else 0: the op autograd uses for ReLU
            return torch.ops.aten.threshold_backward(d_h, pre, 0)
        return d_h.mul_(pre).mul_(2.0)

    def dropout_masks(self, shape: tuple[int, ...]) -> torch.Tensor | None:
        """Per-model inverted-dropout masks (M, *shape), each from its model's own generator; None without dropout."""
        if not any(self.dropout):
            return None
        masks = []
        for rate, gen in zip(self.dropout, self.dropout_generators):
            keep = torch.ones(shape, dtype=self.dtype, device=self.device)
            if rate > 0:
                keep.bernoulli_(1 - rate, generator=gen).div_(1 - rate)
            masks.append(keep)
        return torch.stack(masks)


# ---------------------------------------------------------------------------------------
# One step: forward pass, loss, gradients. Each returns (grads, metrics); metrics only
# when asked (a logged step), as per-model tensors.
# ---------------------------------------------------------------------------------------

def round_inputs(x: torch.Tensor, fmt: str) -> torch.Tensor:
    """float32 ``x`` rounded to nearest (ties to even) in ``fmt`` ('tf32': 10 mantissa bits, 'bfloat16': 7), as float32.

    What a GPU's tensor cores (TF32) or a TPU (bfloat16) do to a product's inputs when JAX
    multiplies float32 matrices at its default precision (notebook 05's seed puzzle).
    """
    if fmt == "bfloat16":
        return x.to(torch.bfloat16).to(torch.float32)
    bits = x.view(torch.int32)          # TF32 is float32 without the 13 lowest mantissa bits
    bits = bits + (0xFFF + ((bits >> 13) & 1))
    return (bits & ~0x1FFF).view(torch.float32)


def rows(W: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of every model's W (M, p, H) at flat ``index`` (M, N), as made by ModelStack.flat: (M, N, H)."""
    M, p, H = W.shape
    return W.reshape(M * p, H).index_select(0, index.flatten()).view(M, -1, H)


def add_rows(G: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> None:
    """The adjoint of :func:`rows`, in place: add each ``values[m, n]`` to the row of G[m] that ``index[m, n]`` names."""
    M, p, H = G.shape
    G.view(M * p, H).index_add_(0, index.flatten(), values.reshape(-1, H))


def modadd_logits(s: ModelStack, W_in: torch.Tensor, W_out: torch.Tensor, a: torch.Tensor,
                  b: torch.Tensor) -> torch.Tensor:
    """Logits (M, N, p) of the pairs (a, b) on collapsed weights, without dropout."""
    return s.matmul(s.activate(rows(W_in, a) + rows(W_in, b)), W_out)


def modadd_metrics(s: ModelStack, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-model mean cross-entropy (ordinary scale) and accuracy of logits (M, N, p) against labels (M, N)."""
    if s.cfgs[0].loss == "stablemax":
        st = stablemax_s(logits)
        log_probs = torch.log(st / st.sum(-1, keepdim=True))
    else:
        log_probs = torch.log_softmax(logits, -1)
    loss = -log_probs.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(-1)
    acc = (logits.argmax(-1) == y).to(s.dtype).mean(-1)
    return loss, acc


def stablemax_s(x: torch.Tensor) -> torch.Tensor:
    """StableMax's s(x): x + 1 for x >= 0, 1 / (1 - x) below (Prieto et al. 2025); probabilities are s / sum(s)."""
    return torch.where(x >= 0, x + 1, 1 / (1 - x.clamp(max=0)))


def modadd_step(s: ModelStack, want_metrics: bool) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Gradients of the article's loss for every model of the stack, and (optionally) train/test metrics."""
    # Forward pass on collapsed weights.
    W_in, W_out = s.collapsed()                               # (M, p, H), (M, H, p)
    pre = rows(W_in, s.train_a) + rows(W_in, s.train_b)       # (M, N, H)
    h = s.activate(pre)
    mask = s.dropout_masks(tuple(h.shape[1:]))
    if mask is not None:
        h = h * mask
    logits = s.matmul(h, W_out)                               # (M, N, p)

    metrics = {}
    if want_metrics:
        metrics["train_loss"], metrics["train_acc"] = modadd_metrics(s, logits, s.train_y)
        test_logits = modadd_logits(s, W_in, W_out, s.test_a, s.test_b)
        metrics["test_loss"], metrics["test_acc"] = modadd_metrics(s, test_logits, s.test_y)

    # d(loss)/d(logits) of the article's loss: mean over N examples and p classes.
    scale = 1.0 / (s.n_train * s.p)
    if s.cfgs[0].loss == "stablemax":
        st = stablemax_s(logits)
        ds = torch.where(logits >= 0, torch.ones_like(st), st * st)       # s'(x)
        d_logits = (ds / st.sum(-1, keepdim=True) - s.train_one_hot * ds / st) * scale
    else:
        # In float32, p_y - 1 rounds to exactly 0 once the right logit leads by more than
        # ~16.6: that example stops teaching (softmax collapse, notebook 06).
        d_logits = torch.softmax(logits, -1).sub_(s.train_one_hot).mul_(scale)

    # Backward pass to the collapsed weights.
    g_W_out = s.matmul(h.transpose(1, 2), d_logits)           # (M, H, p)
    d_h = s.matmul(d_logits, W_out.transpose(1, 2))           # (M, N, H)
    if mask is not None:
        d_h = d_h * mask
    d_pre = s.activation_grad(d_h, pre)
    g_W_in = torch.zeros_like(W_in)                           # each example adds to its rows a and b
    add_rows(g_W_in, s.train_a, d_pre)
    add_rows(g_W_in, s.train_b, d_pre)

    # Chain rule to the raw parameters: W_in = e_in @ hidden, W_out = out @ e_out.T.
    e_in, e_out = s.embeddings()
    hidden, out = s.params["hidden"], s.params["out"]
    grads = {"hidden": s.matmul(e_in.transpose(1, 2), g_W_in),     # (M, d, H)
             "out": s.matmul(g_W_out, e_out)}                       # (M, H, d)
    g_e_in = s.matmul(g_W_in, hidden.transpose(1, 2))               # (M, p, d)
    g_e_out = s.matmul(g_W_out.transpose(1, 2), out)                # (M, p, d)
    if s.embedding == "tied":
        grads["embed"] = g_e_in + g_e_out
    elif s.embedding == "untied":
        grads["embed"], grads["unembed"] = g_e_in, g_e_out
    return grads, metrics


def parity_metrics(s: ModelStack, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-model mean sigmoid cross-entropy and accuracy of logits z (M, N) against 0/1 labels (M, N)."""
    loss = torch.stack([torch.nn.functional.binary_cross_entropy_with_logits(zm, ym) for zm, ym in zip(z, y)])
    acc = ((z > 0).to(s.dtype) == y).to(s.dtype).mean(-1)
    return loss, acc


def parity_step(s: ModelStack, want_metrics: bool) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Gradients of the parity loss (sigmoid cross-entropy / 2) for every model, and (optionally) metrics."""
    hidden, out = s.params["hidden"], s.params["out"]         # (M, n_bits+1, H), (M, H, 1)
    out_row = out.transpose(1, 2)                             # (M, 1, H)
    pre = torch.bmm(s.train_x, hidden)                        # (M, N, H)
    h = s.activate(pre)
    mask = s.dropout_masks(tuple(h.shape[1:]))
    if mask is not None:
        h = h * mask
    z = (h * out_row).sum(-1)                                 # (M, N): one logit per example

    metrics = {}
    if want_metrics:
        metrics["train_loss"], metrics["train_acc"] = parity_metrics(s, z, s.train_y)
        test_z = (s.activate(torch.bmm(s.test_x, hidden)) * out_row).sum(-1)
        metrics["test_loss"], metrics["test_acc"] = parity_metrics(s, test_z, s.test_y)

    # d(loss)/d(z) = (sigmoid(z) - y) / (2N). The sigmoid runs model by model: over the
    # whole stack, where one model's examples end and the next begin would change how the
    # vectorised sigmoid rounds its last few values, and a model's numbers would depend
    # on its neighbours.
    d_z = torch.stack([torch.sigmoid(zm) for zm in z]).sub_(s.train_y).mul_(1.0 / (2 * s.n_train))
    grads = {"out": torch.bmm(h.transpose(1, 2), d_z.unsqueeze(-1))}    # (M, H, 1)
    d_h = d_z.unsqueeze(-1) * out_row                                     # (M, N, H)
    if mask is not None:
        d_h = d_h * mask
    grads["hidden"] = torch.bmm(s.train_x.transpose(1, 2), s.activation_grad(d_h, pre))
    return grads, metrics


# ---------------------------------------------------------------------------------------
# The optimizer: AdamW from torch.optim, after L1 decay and Grokfast act on the gradients.
# ---------------------------------------------------------------------------------------

def make_optimizer(s: ModelStack) -> torch.optim.AdamW:
    """``torch.optim.AdamW`` with one parameter group per model: its slices of the stack, its own settings.

    Each group's parameters are model m's slices (views) of the stacked tensors, and their
    ``.grad`` are model m's slices of ``s.grads``, so AdamW updates the stack in place. A
    group per model also keeps the numbers independent of the other models: AdamW's
    vectorised kernel would round a model's first and last few values differently if
    its slice started elsewhere in a longer tensor.
    """
    groups = []
    for m, c in enumerate(s.cfgs):
        views = []
        for name, param in s.params.items():
            view = param[m]
            view.grad = s.grads[name][m]
            views.append(view)
        groups.append({"params": views, "lr": c.lr, "betas": (c.beta1, c.beta2), "eps": c.eps,
                       "weight_decay": c.weight_decay if c.regularizer == "l2" else 0.0})
    fused = s.device.type in ("cpu", "cuda")   # one kernel per group instead of ~10 small operations
    return torch.optim.AdamW(groups, fused=fused)


def regularize_grads(s: ModelStack) -> None:
    """In place on ``s.grads``: add L1 decay (weight_decay * sign(w)) and Grokfast's amplified slow gradient."""
    for name, g in s.grads.items():
        if s.use_l1:
            g.add_(s.l1_decay * torch.sign(s.params[name]))
        if s.grokfast_ema is not None:    # Lee et al. 2024: g + lambda * EMA(g)
            ema = s.grokfast_ema[name]
            ema.mul_(s.grokfast_alpha).add_((1 - s.grokfast_alpha) * g)
            g.add_(s.grokfast_lambda * ema)


def stop_model(s: ModelStack, opt: torch.optim.AdamW, m: int) -> None:
    """Freeze a diverged model: zero its parameters and optimizer state; the loop then zeroes its gradients."""
    s.stopped.append(m)
    for param in s.params.values():
        param[m].zero_()
    for view in opt.param_groups[m]["params"]:
        for key in ("exp_avg", "exp_avg_sq"):       # the step counter runs on
            if key in opt.state[view]:
                opt.state[view][key].zero_()
    if s.grokfast_ema is not None:
        for ema in s.grokfast_ema.values():
            ema[m].zero_()


def weight_norms(s: ModelStack) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-model L1 and L2 norms over all trained parameters, each summed model by model (as if trained alone)."""
    l1 = [sum(param[m].abs().sum() for param in s.params.values()) for m in range(s.M)]
    l2 = [sum(param[m].square().sum() for param in s.params.values()) for m in range(s.M)]
    return torch.stack(l1), torch.stack(l2).sqrt()


# ---------------------------------------------------------------------------------------
# The loop: log, snapshot, step, update.
# ---------------------------------------------------------------------------------------

def train_stack(cfgs: Sequence[Config], device: torch.device, keep_raw: bool, progress: Progress,
                stop: threading.Event | None = None) -> list[Run]:
    """Train same-shaped models together for their (common) number of steps and return one Run each."""
    start = time.perf_counter()
    s = ModelStack(cfgs, device)
    opt = make_optimizer(s)
    step_fn = modadd_step if s.task == "modadd" else parity_step
    c0 = s.cfgs[0]
    log_steps, save_steps = schedule(c0.steps, c0.log_every), schedule(c0.steps, c0.save_every)
    logged = {k: torch.full((len(log_steps), s.M), float("nan"), dtype=s.dtype, device=device) for k in METRICS}
    W_ins, W_outs, raws = [], [], []
    diverged_at: list[int | None] = [None] * s.M
    li, is_save = 0, set(save_steps.tolist())
    torch.set_flush_denormal(True)   # tiny Adam moments late in training are otherwise very slow
    try:
        for step in range(c0.steps + 1):
            if stop is not None and stop.is_set():
                raise Stopped()
            if step in is_save:
                W_in, W_out = s.collapsed()
                W_ins.append(W_in.clone())
                W_outs.append(W_out.clone())
                if keep_raw:
                    raws.append({k: v.clone() for k, v in s.params.items()})
            log_now = li < len(log_steps) and step == log_steps[li]
            grads, metrics = step_fn(s, log_now)
            if log_now:
                metrics["l1_norm"], metrics["l2_norm"] = weight_norms(s)
                for k in METRICS:
                    logged[k][li] = metrics[k]
                bad = ~torch.isfinite(metrics["train_loss"]) | ~torch.isfinite(metrics["l2_norm"])
                for m in torch.nonzero(bad).flatten().tolist():
                    if diverged_at[m] is None:
                        diverged_at[m] = step
                        stop_model(s, opt, m)
                progress.update((step - (log_steps[li - 1] if li else 0)) * s.M)
                li += 1
            if step < c0.steps:
                for name, g in grads.items():
                    s.grads[name].copy_(g)
                    for m in s.stopped:
                        s.grads[name][m].zero_()
                regularize_grads(s)
                opt.step()
    finally:
        torch.set_flush_denormal(False)
    return _runs(s, log_steps, save_steps, logged, W_ins, W_outs, raws, diverged_at,
                 (time.perf_counter() - start) / s.M)


def _runs(s: ModelStack, log_steps: np.ndarray, save_steps: np.ndarray, logged: dict[str, torch.Tensor],
          W_ins: list, W_outs: list, raws: list, diverged_at: list, seconds: float) -> list[Run]:
    """Split the stack's logs and snapshots into one Run per model (metrics after a divergence are NaN)."""
    metrics = {k: v.cpu().numpy().astype(np.float64) for k, v in logged.items()}
    W_in, W_out = torch.stack(W_ins).cpu().numpy(), torch.stack(W_outs).cpu().numpy()
    raw = {k: torch.stack([r[k] for r in raws]).cpu().numpy() for k in raws[0]} if raws else {}
    runs = []
    for m, cfg in enumerate(s.cfgs):
        met = {k: v[:, m].copy() for k, v in metrics.items()}
        if diverged_at[m] is not None:
            for v in met.values():
                v[log_steps > diverged_at[m]] = np.nan
        runs.append(Run(config=cfg, steps=log_steps.copy(), metrics=met, snapshot_steps=save_steps.copy(),
                        snapshots={k: v[:, m].copy() for k, v in raw.items()},
                        W_in=W_in[:, m].copy(), W_out=W_out[:, m].copy(),
                        diverged=diverged_at[m] is not None, diverged_step=diverged_at[m], seconds=seconds))
    return runs


# ---------------------------------------------------------------------------------------
# The public API.
# ---------------------------------------------------------------------------------------

def check_device(device: str | torch.device) -> torch.device:
    """The torch device for ``device``, or a ValueError saying what is available."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device = {device!r} is not a device name: use 'cpu' or 'cuda'") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device = {device!r} is not available: this machine has no CUDA GPU "
                             "(or this torch is a CPU build); use device='cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device = {device!r} is not available: "
                             f"this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        return dev
    raise ValueError(f"device = {device!r} is not supported: use 'cpu' or 'cuda'")


def train(config: Config, progress: bool | None = None, device: str = "cpu", keep_raw: bool = True) -> Run:
    """Train one model full-batch and return its Run.

    progress: True/False shows/hides a progress bar; None shows one if training looks
    slower than a few seconds. keep_raw=False keeps only the collapsed snapshots.
    """
    return train_many([config], progress=progress, device=device, keep_raw=keep_raw)[0]


def train_many(configs: Sequence[Config], progress: bool | None = None, device: str = "cpu",
               keep_raw: bool = True) -> list[Run]:
    """Train many models, same-shaped ones together; each Run equals what ``train`` gives for its config.

    Runs come back in the order of ``configs``. A model whose loss or weights become
    NaN/inf is frozen and marked ``diverged``; the others go on.
    """
    configs = list(configs)
    for i, c in enumerate(configs):
        if not isinstance(c, (ModAddConfig, ParityConfig)):
            raise ValueError(f"configs[{i}] is a {type(c).__name__}: expected ModAddConfig or ParityConfig")
        if c.task == "parity" and c.loss != "cross_entropy":
            raise ValueError(f"configs[{i}].loss = {c.loss!r} is not allowed for parity: use 'cross_entropy'")
    dev = check_device(device)
    if not configs:
        return []
    streams = threads_to_use() if dev.type == "cpu" else 1
    stacks = plan_stacks(configs, streams, dev)
    bar = Progress(sum(c.steps for c in configs), progress)
    runs: list[Run | None] = [None] * len(configs)

    def task(idx: list[int]):
        def work(stop: threading.Event | None = None) -> None:
            for i, run in zip(idx, train_stack([configs[i] for i in idx], dev, keep_raw, bar, stop)):
                runs[i] = run
        return work

    try:
        if dev.type == "cpu":
            run_side_by_side([task(idx) for idx in stacks], min(streams, len(stacks)), bar)
        else:
            for idx in stacks:
                task(idx)()
    finally:
        bar.close()
    return runs  # type: ignore[return-value]


__all__ = ["train", "train_many", "check_device", "plan_stacks", "train_stack", "ModelStack",
           "modadd_step", "parity_step", "make_optimizer"]

"""The explorable's appendix: modular addition solved by hand with N neurons on a circle.

Every number x is placed on the unit circle, e_x = (cos x*w, sin x*w) with w = 2*pi/p.
Neuron i reads the direction u_i at angle theta_i = 2*pi*i/N (+ an optional offset) and
writes the direction v_i at twice that angle, 2*theta_i. For inputs a and b::

    pre_i    = <e_a, u_i> + <e_b, u_i> = 2 cos((a-b)w/2) cos((a+b)w/2 - theta_i)
    out      = sum_i act(pre_i) * v_i
    logit_c  = <out, e_c>

The neurons sense the angle of the midpoint (a+b)/2; writing at the doubled angle turns
that into the angle of a+b, where the unembedding e_c of the right answer c = a+b mod p
sits. With act(x) = x**2 and N = 3 or N >= 5 the sum is exact::

    logit_c = N cos^2((a-b)w/2) cos((a+b-c)w)

which peaks at c = a+b for odd p. With ReLU it is only approximate: five neurons is the
smallest N that gets every pair right (literature.md section 3).

The construction is an ordinary model in collapsed form: W_in[x, i] = <e_x, u_i> and
W_out[i, c] = <v_i, e_c>, so ``logits = act(W_in[a] + W_in[b]) @ W_out`` as in
:mod:`grokkit.models`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("relu", "square")


def _check(N: int, p: int, activation: str) -> None:
    """Reject values the construction is not defined for, naming the allowed range."""
    if not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"N = {N!r} is not allowed: N must be an integer >= 1")
    if not isinstance(p, (int, np.integer)) or p < 2:
        raise ValueError(f"p = {p!r} is not allowed: p must be an integer >= 2")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation = {activation!r} is not allowed: use one of {ACTIVATIONS}")


def _act(x: np.ndarray, activation: str) -> np.ndarray:
    """ReLU or x**2."""
    return np.maximum(x, 0.0) if activation == "relu" else x * x


def in_angles(N: int, offset: float = 0.0) -> np.ndarray:
    """Angles theta_i = 2*pi*i/N + offset of the N in-projections."""
    return 2 * np.pi * np.arange(N) / N + offset


def construction_weights(N: int, p: int, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Collapsed weights (W_in (p, N), W_out (N, p)) of the hand-built model."""
    _check(N, p, "relu")
    theta = in_angles(N, offset)
    x = 2 * np.pi * np.arange(p) / p
    W_in = np.cos(x[:, None] - theta[None, :])           # <e_x, u_i>
    W_out = np.cos(x[None, :] - 2 * theta[:, None])      # <v_i, e_c>
    return W_in, W_out


def construction_logits(N: int, p: int, activation: str = "relu", offset: float = 0.0) -> np.ndarray:
    """Logits of the construction for every pair: shape (p, p, p) indexed [a, b, c]."""
    _check(N, p, activation)
    W_in, W_out = construction_weights(N, p, offset)
    h = _act(W_in[:, None, :] + W_in[None, :, :], activation)    # (p, p, N)
    return h @ W_out


def construction_outputs(N: int, p: int, activation: str = "relu", offset: float = 0.0) -> np.ndarray:
    """The output vector sum_i act(pre_i) v_i for every pair: shape (p, p, 2) indexed [a, b]."""
    _check(N, p, activation)
    W_in, _ = construction_weights(N, p, offset)
    theta = in_angles(N, offset)
    out_proj = np.stack([np.cos(2 * theta), np.sin(2 * theta)], axis=1)
    h = _act(W_in[:, None, :] + W_in[None, :, :], activation)
    # Weighted sums, not a matrix product: a (p*p x N) @ (N x 2) product is too thin for BLAS
    # threads, which spin for nothing on a busy 2-core machine.
    return np.stack([(h * out_proj[:, 0]).sum(-1), (h * out_proj[:, 1]).sum(-1)], axis=-1)


def construction_predictions(N: int, p: int, activation: str = "relu", offset: float = 0.0,
                             outputs: np.ndarray | None = None) -> np.ndarray:
    """Predicted c for every pair, shape (p, p); -1 where the output vector is zero (no answer).

    All unembeddings e_c have length 1, so the largest logit <out, e_c> belongs to the c
    whose angle c*w is nearest to the angle of the output vector. This needs p*p*N work
    instead of the p**3 of :func:`construction_logits`, so it stays fast up to p = 500.
    outputs: :func:`construction_outputs` of the same arguments, if already computed.
    """
    out = construction_outputs(N, p, activation, offset) if outputs is None else outputs
    angle = np.arctan2(out[..., 1], out[..., 0])
    pred = np.rint(angle / (2 * np.pi / p)).astype(np.int64) % p
    zero = np.hypot(out[..., 0], out[..., 1]) <= 1e-9 * max(N, 1)
    return np.where(zero, -1, pred)


def construction_accuracy(N: int, p: int, activation: str = "relu", offset: float = 0.0,
                          outputs: np.ndarray | None = None) -> float:
    """Fraction of all p*p pairs (a, b) whose largest logit is c = (a + b) mod p."""
    a = np.arange(p)
    right = (a[:, None] + a[None, :]) % p
    return float((construction_predictions(N, p, activation, offset, outputs) == right).mean())


@dataclass(frozen=True)
class ConstructionState:
    """Every intermediate quantity of the construction for one pair (a, b), for plotting."""

    N: int
    p: int
    a: int
    b: int
    activation: str
    embed: np.ndarray        # (p, 2): e_x for every x
    in_proj: np.ndarray      # (N, 2): u_i
    out_proj: np.ndarray     # (N, 2): v_i
    pre: np.ndarray          # (N,): <e_a, u_i> + <e_b, u_i>
    act: np.ndarray          # (N,): act(pre)
    out: np.ndarray          # (2,): sum_i act_i v_i
    logits: np.ndarray       # (p,): <out, e_c>

    @property
    def answer(self) -> int:
        """The right answer (a + b) mod p."""
        return (self.a + self.b) % self.p

    @property
    def predicted(self) -> int:
        """The c with the largest logit."""
        return int(np.argmax(self.logits))


def construction_state(N: int, p: int, a: int, b: int, activation: str = "relu",
                       offset: float = 0.0) -> ConstructionState:
    """The construction's embeddings, projections, activations and logits for inputs a and b."""
    _check(N, p, activation)
    if not (0 <= a < p and 0 <= b < p):
        raise ValueError(f"a = {a!r}, b = {b!r} are not allowed: both must be in 0..{p - 1}")
    x = 2 * np.pi * np.arange(p) / p
    theta = in_angles(N, offset)
    embed = np.stack([np.cos(x), np.sin(x)], axis=1)
    in_proj = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    out_proj = np.stack([np.cos(2 * theta), np.sin(2 * theta)], axis=1)
    pre = in_proj @ embed[a] + in_proj @ embed[b]
    act = _act(pre, activation)
    out = act @ out_proj
    return ConstructionState(N=int(N), p=int(p), a=int(a), b=int(b), activation=activation, embed=embed,
                             in_proj=in_proj, out_proj=out_proj, pre=pre, act=act, out=out,
                             logits=embed @ out)


__all__ = [
    "ACTIVATIONS", "in_angles", "construction_weights", "construction_logits", "construction_outputs",
    "construction_predictions", "construction_accuracy",
    "ConstructionState", "construction_state",
]

"""Notebook 01b's checks pass the article's model, loss and loop, and name each plausible mistake."""

from __future__ import annotations

import warnings

import pytest
import torch

from grokkit.course import CheckFailed
from grokkit.course.nb01b import (
    check_collapsed_logits,
    check_engine_gradients,
    check_loss,
    check_model,
    check_training,
)


class Article(torch.nn.Module):
    """The article's model: tied embedding, shared hidden layer, ReLU of the sum, no biases."""

    def __init__(self, p: int = 67, d: int = 500, h: int = 24):
        super().__init__()
        self.embed = torch.nn.Parameter(torch.zeros(p, d))
        self.hidden = torch.nn.Parameter(torch.zeros(d, h))
        self.out = torch.nn.Parameter(torch.zeros(h, d))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        pre = self.embed[a] @ self.hidden + self.embed[b] @ self.hidden
        return torch.relu(pre) @ self.out @ self.embed.T


class Untied(Article):
    """A separate unembedding matrix."""

    def __init__(self, p: int = 67, d: int = 500, h: int = 24):
        super().__init__(p, d, h)
        self.unembed = torch.nn.Parameter(torch.zeros(p, d))

    def forward(self, a, b):
        return torch.relu(self.embed[a] @ self.hidden + self.embed[b] @ self.hidden) @ self.out @ self.unembed.T


class WithBias(torch.nn.Module):
    """torch.nn.Linear's default bias=True in the hidden layer."""

    def __init__(self, p: int = 67, d: int = 500, h: int = 24):
        super().__init__()
        self.embed = torch.nn.Parameter(torch.zeros(p, d))
        self.hidden_layer = torch.nn.Linear(d, h)
        self.out = torch.nn.Parameter(torch.zeros(h, d))

    def forward(self, a, b):
        return torch.relu(self.hidden_layer(self.embed[a]) + self.hidden_layer(self.embed[b])) @ self.out @ self.embed.T


class ReluEach(Article):
    """ReLU on each number's hidden vector before the sum."""

    def forward(self, a, b):
        return (torch.relu(self.embed[a] @ self.hidden) + torch.relu(self.embed[b] @ self.hidden)) @ self.out @ self.embed.T


def article_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits, y) / logits.shape[-1]


def plain_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits, y)


def make_loop(*, report=article_loss, minimize=article_loss, weight_decay=1.0, l2_in_loss=0.0, report_penalty=False):
    """A full-batch AdamW loop, right by default, with one mistake when asked."""

    def train_module(model, a, b, y, steps):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=weight_decay)
        losses = []
        for _ in range(steps):
            logits = model(a, b)
            penalty = l2_in_loss * sum((w ** 2).sum() for w in model.parameters())
            losses.append(float(report(logits, y) + (penalty if report_penalty else 0.0)))
            loss = minimize(logits, y) + penalty
            opt.zero_grad()
            loss.backward()
            opt.step()
        return losses

    return train_module


def collapsed_logits(model, a, b):
    W_in = model.embed @ model.hidden
    W_out = model.out @ model.embed.T
    return torch.relu(W_in[a] + W_in[b]) @ W_out


def engine_gradients(model, a, b, y, *, second_term=True):
    """The engine's step by hand: softmax minus one-hot, back through W_out, the ReLU and W_in, then the chain rule."""
    E, H, O = model.embed.detach(), model.hidden.detach(), model.out.detach()
    W_in, W_out = E @ H, O @ E.T
    pre = W_in[a] + W_in[b]
    neurons = torch.relu(pre)
    logits = neurons @ W_out
    n, p = logits.shape
    d_logits = (torch.softmax(logits, -1) - torch.nn.functional.one_hot(y, p).to(logits.dtype)) / (n * p)
    G_out = neurons.T @ d_logits
    d_pre = (d_logits @ W_out.T) * (pre > 0)
    G_in = torch.zeros_like(W_in).index_add_(0, a, d_pre).index_add_(0, b, d_pre)
    embed = G_in @ H.T + (G_out.T @ O if second_term else 0)
    return {"embed": embed, "hidden": E.T @ G_in, "out": G_out @ E}


def autograd_gradients(model, a, b, y):
    W_in = (model.embed @ model.hidden).detach().requires_grad_(True)
    W_out = (model.out @ model.embed.T).detach().requires_grad_(True)
    article_loss(torch.relu(W_in[a] + W_in[b]) @ W_out, y).backward()
    return {"embed": W_in.grad, "hidden": W_in.grad, "out": W_out.grad}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def test_the_articles_model_and_loss_pass(capsys):
    check_model(Article)
    check_loss(article_loss)
    assert capsys.readouterr().out.count("✅") == 2


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Untied, r"untied unembedding: the model has 2 matrices of the embedding's size"),
        (WithBias, r"the model has a bias \(hidden_layer.bias, shape \(24,\)\)"),
        (ReluEach, r"ReLU is applied to each number's hidden values before adding them"),
    ],
    ids=["untied", "bias", "relu-before-sum"],
)
def test_a_wrong_model_fails_naming_its_mistake(model, message):
    with pytest.raises(CheckFailed, match=message):
        check_model(model)


def test_a_loss_not_divided_by_p_fails_naming_it():
    with pytest.raises(CheckFailed, match=r"the loss is not divided by p = 67"):
        check_loss(plain_cross_entropy)


def test_a_loss_returned_as_a_float_fails_saying_autograd_needs_the_tensor():
    with pytest.raises(CheckFailed, match=r"not .item\(\)"):
        check_loss(lambda logits, y: article_loss(logits, y).item())


@pytest.mark.slow
def test_the_articles_training_loop_matches_the_engine(capsys):
    check_training(make_loop(), Article)
    assert "equal to grokkit's engine" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loop", "message"),
    [
        (make_loop(report=plain_cross_entropy, minimize=plain_cross_entropy), r"the losses are not divided by p = 67"),
        (make_loop(minimize=plain_cross_entropy), r"minimizes the cross-entropy not divided by p"),
        (make_loop(weight_decay=0.0, l2_in_loss=1.0), r"weight decay is folded into the loss \(an L2 penalty"),
        (make_loop(weight_decay=0.0, l2_in_loss=0.5), r"weight decay is folded into the loss \(a penalty \(wd / 2\)"),
        (make_loop(weight_decay=0.0, l2_in_loss=1.0, report_penalty=True), r"weight decay is folded into the loss \(your first loss includes 1 \*"),
        (make_loop(weight_decay=0.01), r"the losses leave grokkit's engine at step 1"),
    ],
    ids=["loss-scale-reported-and-minimized", "loss-scale-minimized", "decay-in-loss", "half-decay-in-loss",
         "decay-in-reported-loss", "adamw-default-decay"],
)
def test_a_wrong_training_loop_fails_naming_its_mistake(loop, message):
    with pytest.raises(CheckFailed, match=message):
        check_training(loop, Article)


def test_collapsed_logits_and_engine_gradients_pass_and_a_missing_chain_rule_term_fails(capsys):
    check_collapsed_logits(collapsed_logits, Article)
    check_engine_gradients(engine_gradients, Article, article_loss)
    assert capsys.readouterr().out.count("✅") == 2
    with pytest.raises(CheckFailed, match=r"the gradient of embed differs .* \(embed gets two terms"):
        check_engine_gradients(lambda *args: engine_gradients(*args, second_term=False), Article, article_loss)
    with pytest.raises(CheckFailed, match=r"must be computed by hand, as the engine does, without autograd"):
        check_engine_gradients(autograd_gradients, Article, article_loss)
    with pytest.raises(CheckFailed, match=r"collapsed logits differ"):
        check_collapsed_logits(lambda m, a, b: collapsed_logits(m, a, b) * 1.01, Article)

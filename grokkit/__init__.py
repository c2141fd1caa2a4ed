"""grokkit: the helper package of a hands-on course on grokking.

The names most notebooks need are here: the explorable's configs, ``train`` and
``train_many``, and the ``Run`` record. Submodules: tasks, configs, models, training, run, transformer, fourier,
analysis, sweep, plots, widgets, course.
"""

from .configs import (
    GEN_MEM_GEN, PAIR_FIVE_NEURON, PAIR_MODADD, PAIR_PARITY, REVERSE_GROKKING, ModAddConfig,
    ParityConfig, make_config,
)
from .run import Run, article_loss
from .training import train, train_many

__version__ = "0.1.0"

__all__ = [
    "GEN_MEM_GEN", "PAIR_FIVE_NEURON", "PAIR_MODADD", "PAIR_PARITY", "REVERSE_GROKKING",
    "ModAddConfig", "ParityConfig", "make_config", "Run", "article_loss", "train", "train_many",
]

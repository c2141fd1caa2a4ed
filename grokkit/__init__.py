"""grokkit: the helper package of a hands-on course on grokking.

The names most notebooks need are here: the explorable's configs, ``train`` and
``train_many``, and the ``Run`` record. Submodules: tasks, configs, models, training, run, transformer, fourier,
analysis, sweep, plots, widgets, course.
"""

import os

# Intel MKL (torch's matrix library on x86) picks its code path by the memory alignment of
# each matrix, so a model's products could round differently depending on where its slice
# of a stack starts, i.e. on which other models share the stack. Its documented
# "conditional numerical reproducibility" mode removes that: a model's numbers are then the
# same alone or in any stack. It must be set before MKL's first product, so import grokkit
# before running torch code; it changes nothing where torch does not use MKL.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

from .configs import (  # noqa: E402
    GEN_MEM_GEN, PAIR_FIVE_NEURON, PAIR_MODADD, PAIR_PARITY, REVERSE_GROKKING, ModAddConfig,
    ParityConfig, make_config,
)
from .run import Run, article_loss  # noqa: E402
from .training import train, train_many  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "GEN_MEM_GEN", "PAIR_FIVE_NEURON", "PAIR_MODADD", "PAIR_PARITY", "REVERSE_GROKKING",
    "ModAddConfig", "ParityConfig", "make_config", "Run", "article_loss", "train", "train_many",
]

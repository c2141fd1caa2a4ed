"""The course's shared figure style: colours, the logit figures' default inputs, animation size."""

from __future__ import annotations

from .. import analysis

TRAIN_COLOR = "#9730c9"
TEST_COLOR = "#4CB769"
STEP_COLOR = "#444444"
WEIGHT_CMAP = "RdBu_r"            # diverging, centred at 0: positive red, negative blue
CLASS_COLORS = analysis.CLASS_COLORS
CLASS_EDGE = "#333333"            # every class dot gets this edge, so white dots show
# Okabe-Ito colours (colour-blind safe) for the digits that decide the parity; the bias pink.
DIGIT_COLORS = ("#0072B2", "#D55E00", "#E69F00", "#56B4E9", "#009E73")
BIAS_COLOR = "#CC79A7"
DISTRACTOR_COLOR = "#9a9a9a"
A_COLOR, B_COLOR = "#0072B2", "#D55E00"   # the two inputs of the logit and appendix figures
ANSWER_COLOR = "#111111"
BAR_COLOR = "#b9b9b9"

DEFAULT_A, DEFAULT_B = 13, 19     # the explorable's logit sliders start here
ANIMATION_FRAMES = 24             # frames of a kernel-free animation (keep notebooks small)
ANIMATION_DPI = 60

"""One matplotlib function per figure of the explorable (explorable.md section 6).

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot, so that
nothing stays open in loops and a notebook shows it once (return it as a cell's last
value, or pass it to ``display``). Functions that follow training take a ``Run`` and a
``step`` (the last snapshot at or before it is shown; ``None`` means the end of training).

Redrawing. Pass the figure back as ``fig=`` to redraw it at another step: when the run and
the options are the same, the function only updates its artists (image data, line data,
the step marker) instead of building the figure again, which is what keeps the
:mod:`grokkit.widgets` sliders fast. With other options the figure is cleared and rebuilt.
The machinery for that lives in :mod:`grokkit.plots.render`.

Style, shared by the whole course (:mod:`grokkit.plots.style`): train ``TRAIN_COLOR``
(purple), test ``TEST_COLOR`` (green), weights in a red/blue diverging map centred at 0
(positive red), run classes in :data:`grokkit.analysis.CLASS_COLORS` (grey, white, blue,
yellow; white dots get a dark edge). Losses are on the article's scale (cross-entropy /
number of classes) unless a function says otherwise. Run classes come from
:func:`grokkit.analysis.classify_arrays`.

Figures of section 6, their functions and modules:

====  ==========================================  =====================================  ==========
 #    explorable figure                           function                               module
====  ==========================================  =====================================  ==========
1,4   accuracy (mod-top, parity)                  :func:`accuracy`                       metrics
6     log loss (parity)                           :func:`loss`                           metrics
10,14 accuracy + loss (five neurons, mod-bot)      :func:`curves`                         metrics
2,21  W_input / W_output heatmaps                 :func:`weights`                        modadd
3,15  waves per key frequency                     :func:`waves`                          modadd
5     parity input weights + output column        :func:`parity_weights`                 parity
7     every parity input weight over training     :func:`parity_trajectories`            parity
8     sparse-parity sweep grid                    :func:`sweep_grid`                     sweeps
8     a sweep cell's nine loss curves             :func:`cell_losses`                    sweeps
9     the fixed circular embedding                :func:`fixed_embedding`                circle
11    five-neuron cos/sin heatmaps                :func:`five_neuron_weights`            circle
12,13 five-neuron circles, connected star         :func:`five_neuron_circles`            circle
16    DFT of W_input / W_output                   :func:`dft`                            spectra
17    per-frequency star plots                    :func:`frequency_stars`                spectra
18    logits per frequency group for a, b         :func:`logits`                         spectra
19    small multiples of many runs' losses        :func:`loss_grid`, :func:`seed_grid`   sweeps
20    class counts per architecture               :func:`class_bars`                     sweeps
22    the appendix construction                   :func:`construction`                   circle
====  ==========================================  =====================================  ==========

Notebook 07 adds :func:`steps_to_generalize` and :func:`phase_diagram` (sweeps) and
:func:`frequency_spectrum` (spectra). Without a kernel, :func:`animate` (animation) turns
any of the step-following functions into a short JavaScript animation
(``IPython.display.HTML``) that a rendered notebook still plays.
"""

from __future__ import annotations

from .animation import animate, animation_html, animation_steps
from .circle import circle_order, construction, five_neuron_circles, five_neuron_weights, fixed_embedding
from .metrics import accuracy, curves, loss
from .modadd import neuron_display_order, waves, weights
from .parity import parity_input_labels, parity_trajectories, parity_weights
from .render import new_figure, to_png
from .spectra import dft, frequency_spectrum, frequency_stars, logits
from .style import (A_COLOR, ANIMATION_DPI, ANIMATION_FRAMES, ANSWER_COLOR, B_COLOR, BAR_COLOR, BIAS_COLOR,
                    CLASS_COLORS, CLASS_EDGE, DEFAULT_A, DEFAULT_B, DIGIT_COLORS, DISTRACTOR_COLOR, STEP_COLOR,
                    TEST_COLOR, TRAIN_COLOR, WEIGHT_CMAP)
from .sweeps import (LIU_CLASSES, LIU_COLORS, cell_losses, class_bars, freqs_title, loss_grid, phase_diagram,
                     seed_grid, steps_to_generalize, sweep_grid)

__all__ = [
    "TRAIN_COLOR", "TEST_COLOR", "STEP_COLOR", "WEIGHT_CMAP", "CLASS_COLORS", "CLASS_EDGE", "DIGIT_COLORS",
    "BIAS_COLOR", "DISTRACTOR_COLOR", "A_COLOR", "B_COLOR", "ANSWER_COLOR", "BAR_COLOR", "DEFAULT_A", "DEFAULT_B",
    "ANIMATION_FRAMES", "ANIMATION_DPI", "new_figure", "to_png",
    "accuracy", "loss", "curves", "neuron_display_order", "weights", "waves", "parity_input_labels",
    "parity_weights", "parity_trajectories", "sweep_grid", "cell_losses", "freqs_title",
    "loss_grid", "seed_grid", "class_bars", "fixed_embedding", "five_neuron_weights", "circle_order",
    "five_neuron_circles", "dft", "frequency_stars", "logits", "construction", "animation_html",
    "animation_steps", "animate", "LIU_CLASSES", "LIU_COLORS", "steps_to_generalize", "phase_diagram",
    "frequency_spectrum",
]

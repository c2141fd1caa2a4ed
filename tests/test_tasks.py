"""Datasets: sizes, labels, seeded splits."""

import numpy as np
import pytest

from grokkit import tasks


def test_symmetric_modadd_split_has_the_explorables_sizes():
    s = tasks.modadd_split(67, 0.4, True, seed=165)
    assert len(s.train_y) == 911 and len(s.test_y) == 2278 - 911
    assert (s.train_x[:, 0] <= s.train_x[:, 1]).all()
    assert ((s.train_x.sum(1) % 67) == s.train_y).all() and ((s.test_x.sum(1) % 67) == s.test_y).all()
    seen = {tuple(x) for x in s.train_x}
    assert not seen & {tuple(x) for x in s.test_x}
    assert len(seen) + len(s.test_y) == 2278


def test_all_pairs_split_and_seeds():
    s = tasks.modadd_split(11, 0.5, symmetric=False, seed=1)
    assert len(s.train_y) + len(s.test_y) == 121
    again = tasks.modadd_split(11, 0.5, symmetric=False, seed=1)
    other = tasks.modadd_split(11, 0.5, symmetric=False, seed=2)
    assert np.array_equal(s.train_x, again.train_x)
    assert not np.array_equal(s.train_x, other.train_x)


def test_parity_data_has_bias_column_and_parity_labels():
    s = tasks.parity_data(30, 3, 100, 50, seed=0)
    assert s.train_x.shape == (100, 31) and s.test_x.shape == (50, 31)
    assert (s.train_x[:, 30] == 1).all()
    assert set(np.unique(s.train_x[:, :30])) == {0.0, 1.0}
    assert np.array_equal(s.train_y, s.train_x[:, :3].sum(1).astype(int) % 2)
    assert 0.3 < s.train_y.mean() < 0.7


@pytest.mark.parametrize("kwargs,name", [({"k": 40}, "k"), ({"n_train": 0}, "n_train")])
def test_parity_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        tasks.parity_data(**kwargs)

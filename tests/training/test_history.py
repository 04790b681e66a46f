"""History: per-epoch records that survive JSON and refuse inconsistent rows."""

import json

import pytest

from convlens.training import History


def test_append_and_json_round_trip():
    h = History(val_name="test")
    h.append(1.0, 0.5, 2.0, 1.1, 0.4, lr=0.1)
    h.append(0.5, 0.7, 2.0, 0.9, 0.6, lr=0.05)
    assert h.epochs == 2 and h.has_val and h.lr == [0.1, 0.05]
    again = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert again == h


def test_without_held_out_data():
    h = History()
    h.append(1.0, 0.5, 2.0)
    assert h.epochs == 1 and not h.has_val and h.val_loss == [] and h.lr == [None]


def test_val_values_come_in_pairs_and_in_every_epoch():
    h = History()
    with pytest.raises(ValueError, match="expected both val_loss and val_accuracy, or neither"):
        h.append(1.0, 0.5, 2.0, val_loss=1.0)
    h.append(1.0, 0.5, 2.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="expected held-out metrics in every epoch or in none"):
        h.append(1.0, 0.5, 2.0)
    assert h.epochs == 1

"""Layered: a mapping changed by layers reads exactly as a dict changed in place."""

import random

from qa.layered import Layered


def test_a_layered_mapping_reads_as_a_dict_changed_in_place_through_many_changes():
    rng = random.Random(3)
    plain = {f"k{n}": n for n in range(50)}
    layered = Layered(plain)
    for step in range(3 * Layered.DEPTH):  # past several flattenings
        drop = set(rng.sample(sorted(plain), 3)) | {"never-there"}
        put = {f"k{rng.randrange(80)}": step * 100 + n for n in range(4)}
        layered = layered.changed(put, drop)
        for key in drop:
            plain.pop(key, None)
        plain.update(put)
        assert len(layered) == len(plain)
        assert dict(layered) == plain
        for key in [*drop, *put, "k1", "k79"]:
            assert (key in layered) == (key in plain)
            assert layered.get(key) == plain.get(key)


def test_changing_a_layered_mapping_leaves_the_old_one_as_it_was():
    first = Layered({"a": 1, "b": 2})
    second = first.changed({"c": 3}, {"a"})
    assert dict(first) == {"a": 1, "b": 2} and dict(second) == {"b": 2, "c": 3}
    assert second.get("a") is None and first["a"] == 1

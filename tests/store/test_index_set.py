"""The bitmap a resume reads stored sample indices into: a set of ints in all a caller sees."""

from __future__ import annotations

import random

from levelhead.store._bookkeeping import IndexSet


def test_it_holds_what_a_set_holds_and_compares_equal_to_one() -> None:
    rng = random.Random(7)
    picked = {rng.randrange(1_000_000) for _ in range(5_000)} | {0, 7, 8, 999_999}
    bits = IndexSet()
    for k in sorted(picked, key=lambda _: rng.random()):  # any order, some twice
        bits.add(k)
        bits.add(k)
    assert len(bits) == len(picked) and bits == picked and picked == bits
    assert list(bits) == sorted(picked)
    assert 999_999 in bits and 1 not in bits and 2_000_000 not in bits and -1 not in bits
    assert "3" not in bits and IndexSet() == set() and not IndexSet()
    assert [k for k in range(10) if k not in IndexSet([0, 7, 8])] == [1, 2, 3, 4, 5, 6, 9]

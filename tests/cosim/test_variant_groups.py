"""engine_variant.groups against a plain pairwise grouping (torch.equal on every pair)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim.engine_variant import groups
from cosim.schedule import Bits


def reference(data: list[torch.Tensor]) -> list[list[int]]:
    out: list[list[int]] = []
    for k, a in enumerate(data):
        for g in out:
            if torch.equal(data[g[0]], a):
                g.append(k)
                break
        else:
            out.append([k])
    return out


@settings(max_examples=60, deadline=None)
@given(picks=st.lists(st.integers(0, 3), min_size=1, max_size=8), shared=st.booleans(),
       packed=st.booleans(), seed=st.integers(0, 2**16))
def test_groups_match_pairwise_equality(picks, shared, packed, seed):
    g = torch.Generator().manual_seed(seed)
    if packed:  # int64 words: copies, and variants one bit or one word away
        base = torch.randint(-2**62, 2**62, (3, 2), generator=g, dtype=torch.int64)
        pool = [base, base.clone(), base ^ 1, base ^ 2]
        pool[3][0, 0] += 1
    else:
        base = (torch.rand(3, 5, generator=g) < 0.5).float()
        moved = base.clone()
        moved[0, 0], moved[0, 1] = base[0, 1], base[0, 0]  # the same sum, often other values
        pool = [base, base.clone(), moved, 1 - base]
    objs = [pool[p] if shared else pool[p].clone() for p in picks]
    spikes = [Bits(o, 128) if packed else o for o in objs]
    assert groups(spikes) == reference(objs)

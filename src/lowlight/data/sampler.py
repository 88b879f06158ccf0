"""A resumable, distributed sampler that makes N processes see exactly what one process would.

The data stream is the concatenation of one random permutation of the dataset per epoch (seeded with
``(seed, epoch)``). Global batch ``k`` is stream positions ``[k*B, (k+1)*B)``; rank ``r`` of ``W`` takes
the ``r``-th slice of ``B/W`` positions of every global batch. So:

* one process with batch ``B`` and ``W`` processes with batch ``B/W`` each train on the same samples;
* resuming at step ``s`` starts at global batch ``s`` without touching earlier data;
* datasets smaller than a batch simply run over several epochs within a batch.

It yields keys ``(index, epoch)`` that the datasets of :mod:`lowlight.data.datasets` understand.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class StreamSampler(Sampler):
    """Endless ``(index, epoch)`` keys for one rank, starting at global batch ``start_batch``."""

    def __init__(
        self,
        length: int,
        global_batch: int,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        shuffle: bool = True,
        start_batch: int = 0,
    ) -> None:
        if length < 1:
            raise ValueError("dataset is empty")
        if global_batch % world_size:
            raise ValueError(f"batch size {global_batch} is not divisible by the {world_size} processes")
        self.length, self.global_batch = length, global_batch
        self.rank, self.world_size = rank, world_size
        self.seed, self.shuffle, self.start_batch = seed, shuffle, start_batch
        self.local_batch = global_batch // world_size
        self._epoch, self._order = -1, np.arange(0)

    def _order_of(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            self._epoch = epoch
            if self.shuffle:
                self._order = np.random.default_rng([self.seed, epoch]).permutation(self.length)
            else:
                self._order = np.arange(self.length)
        return self._order

    def key_at(self, position: int) -> tuple[int, int]:
        """The ``(index, epoch)`` at a position of the global stream."""
        epoch, offset = divmod(position, self.length)
        return int(self._order_of(epoch)[offset]), epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        batch = self.start_batch
        while True:
            first = batch * self.global_batch + self.rank * self.local_batch
            for position in range(first, first + self.local_batch):
                yield self.key_at(position)
            batch += 1

"""Datasets, pairing of benchmark folders, augmentation and the synthetic low-light degradation model."""

from lowlight.data.datasets import PairedDataset, SyntheticPairDataset, UnpairedDataset
from lowlight.data.degradation import DegradationConfig, degrade
from lowlight.data.pairs import PairList, find_pairs, match_pairs
from lowlight.data.sampler import StreamSampler

__all__ = [
    "DegradationConfig",
    "PairList",
    "PairedDataset",
    "StreamSampler",
    "SyntheticPairDataset",
    "UnpairedDataset",
    "degrade",
    "find_pairs",
    "match_pairs",
]

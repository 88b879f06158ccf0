"""Experiments that train and then evaluate: the ablation runner (``lowlight ablate``)."""

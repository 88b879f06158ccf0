"""Training: configs, the trainer, checkpoints, export and the `lowlight train` command."""

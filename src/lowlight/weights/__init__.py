"""Weights that ship with the package, described as data (see :class:`PretrainedWeights`).

Each entry names its file in this folder, its sha256, the data and recipe it was trained with, how the
checkpoint was chosen (never on a test set) and the scores measured with ``lowlight evaluate`` on LOL
eval15 (8-bit outputs, RGB PSNR, Gaussian-window and scikit-image SSIM, no GT-mean).
"""

from __future__ import annotations

from lowlight.registry import PretrainedWeights

DARKIR_M_LOL = PretrainedWeights(
    model="darkir_m",
    file="darkir_m_lol.safetensors",
    sha256="bc2515d4090494e92f466caccd1bb13342ce3910e484598e5d9d620bd65ce9f3",
    data="LOL-v1 our485 minus the 35 validation pairs of configs/splits/lol_our485_val.txt",
    recipe="configs/darkir_m_lolv1_cpu.yaml with name=darkir_m_lol_ship threads=1 steps=30000 "
    "data.val_max_images=35 val_every=1000, initialised from a 3,500-step L1 warm-up",
    steps=7500,
    training="2-core CPU (AMD EPYC, AVX-512), one thread, shared with other jobs: 1.6 h warm-up + 2.2 h",
    selection="best PSNR on the 35 held-out our485 validation pairs (21.45 dB at step 4,000 of the main run, among "
    "validations every 1,000 steps up to 6,000); EMA weights, float16 (0.001 dB from float32)",
    metrics={"psnr": 20.5592, "ssim": 0.7852, "ssim_skimage": 0.783},
    logs="training_logs/darkir_m_lol",
)

_ZERO_SHOT_SELECTION = (
    "the checkpoint at step 3,000 for both zero-reference models (equal budget; the cosine schedule was "
    "set for 5,000 steps); no LOL image was used for training or selection; EMA weights, float16 "
    "(under 0.001 dB from float32)"
)

LUCENTVISION_SICE = PretrainedWeights(
    model="lucentvision",
    file="lucentvision_sice.safetensors",
    sha256="2462a8d5723c793a18fd7fb3389fa2f45dbdf089e91ad3b26299c2ac1b2d07c2",
    data="SICE Part 1 (2,002 multi-exposure images, resized to 128x128), no reference images",
    recipe="configs/lucentvision_sice_cpu.yaml with threads=1 (zero-reference losses: spatial, exposure 0.6, "
    "colour, TV), stopped at step 3,000",
    steps=3000,
    training="2-core CPU (AMD EPYC, AVX-512), one thread, shared with other jobs: 0.75 h",
    selection=_ZERO_SHOT_SELECTION,
    metrics={"psnr": 14.4518, "ssim": 0.5565, "ssim_skimage": 0.5598},
    logs="training_logs/lucentvision_sice",
)

ZERO_DCE_SICE = PretrainedWeights(
    model="zero_dce",
    file="zero_dce_sice.safetensors",
    sha256="0d9dc348900df845338f98ba27a26c2990328a6f03374f2c0606a4dfa79147f2",
    data="SICE Part 1 (2,002 multi-exposure images, resized to 128x128), no reference images",
    recipe="configs/zero_dce_sice_cpu.yaml with threads=1 (the LucentVisionNet recipe; TV weight 200 for "
    "24 curve maps), stopped at step 3,000",
    steps=3000,
    training="2-core CPU (AMD EPYC, AVX-512), one thread, shared with other jobs: 0.65 h",
    selection=_ZERO_SHOT_SELECTION,
    metrics={"psnr": 16.0928, "ssim": 0.565, "ssim_skimage": 0.5697},
    logs="training_logs/zero_dce_sice",
)

SHIPPED_WEIGHTS: tuple[PretrainedWeights, ...] = (DARKIR_M_LOL, LUCENTVISION_SICE, ZERO_DCE_SICE)

# Model used by ``lowlight enhance`` when none is given (None: the best classical baseline). darkir_m
# looked best on the real photos of DICM: it brightens without lifting the sensor noise of dark skies,
# where the curve models and adaptive gamma amplify it (README, "Trained weights").
DEFAULT_ENHANCE_MODEL: str | None = "darkir_m"

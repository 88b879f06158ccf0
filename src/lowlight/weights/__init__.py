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
    sha256="d3949a16c3ff951ac5657b38b28947cd90b4f2df23f5485eb1698cb22aed5876",
    data="LOL-v1 our485 minus the 35 validation pairs of configs/splits/lol_our485_val.txt",
    recipe="five stages (training_logs/darkir_m_lol/README.md): a 3,500-step L1 warm-up on 128x128 crops; "
    "configs/darkir_m_lolv1_cpu.yaml (L1 + edge + side L1, 128x128 crops), 4,000 steps; "
    "configs/darkir_m_lolv1_cpu_finetune.yaml (L1 + side L1, 256x256 crops, AdamW 1e-4), 1,250 steps; "
    "configs/darkir_m_lolv1_cpu_finetune_psnr.yaml (per-image PSNR loss + side L1, 384x384 crops, AdamW "
    "3e-5), 1,000 steps; then configs/darkir_m_lolv1_cpu_finetune_full.yaml (the same on whole 600x400 "
    "images), 1,000 steps",
    steps=10750,
    training="2-core CPU (AMD EPYC, AVX-512), shared with other jobs: 1.6 h warm-up + 2.2 h + 1.1 h + 1.3 h "
    "on one thread, then 1.25 h on two",
    selection="best PSNR on the 35 held-out our485 validation pairs at each stage: step 4,000 of the main run "
    "(21.45 dB), step 1,250 of the 256x256 fine-tune (21.52 dB), step 1,000 of the PSNR-loss fine-tune "
    "(21.55 dB), then step 1,000 of the whole-image fine-tune (21.58 dB; validations every 250 steps); EMA "
    "weights, float16 (0.0014 dB from float32)",
    metrics={"psnr": 21.0732, "ssim": 0.7901, "ssim_skimage": 0.7881},
    logs="training_logs/darkir_m_lol",
    tag="lol_v1",
)

FSIDNET_LOL = PretrainedWeights(
    model="fsidnet",
    file="fsidnet_lol.safetensors",
    sha256="491fef7880115732b7389117daf6b0d4344ad582c69361c417e5c813f1ea578f",
    data="LOL-v1 our485 minus the 35 validation pairs of configs/splits/lol_our485_val.txt",
    recipe="two stages (training_logs/fsidnet_lol/README.md): configs/fsidnet_lol_cpu.yaml with "
    "name=fsidnet_lol_ship model.name=fsidnet threads=1 data.val_max_images=35 (128x128 crops, L1 + 0.5 "
    "stage-1 L1 + 0.1 stage-1 amplitude + 0.1 phase, Adam 2e-4, cosine; the schedule length was changed on "
    "resumes), 10,000 steps; then configs/fsidnet_lol_cpu_finetune_psnr.yaml (384x384 crops, per-image PSNR "
    "loss + the stage-1 terms, Adam 3e-5), 750 steps",
    steps=10750,
    training="2-core CPU (AMD EPYC, AVX-512), shared with other jobs: about 4.9 h of optimizer time on one "
    "thread (two for 2,500 steps), then 1.0 h on two",
    selection="best PSNR on the 35 held-out our485 validation pairs at each stage: step 10,000 of the main "
    "run (21.83 dB; 20.23 at 3,000, 21.29 at 5,000, 21.66 at 8,000, 21.80 at 11,000, 21.75 at 14,000), then "
    "step 750 of the fine-tune (21.88 dB; 21.81 at 250, 21.87 at 500, 21.85 at 1,000); EMA weights, float16 "
    "(0.001 dB from float32)",
    metrics={"psnr": 20.6586, "ssim": 0.7715, "ssim_skimage": 0.7667},
    logs="training_logs/fsidnet_lol",
    tag="lol_v1",
)

_ZERO_SHOT_SELECTION = (
    "best PSNR on the 35 held-out LOL our485 validation pairs (measured every 500 steps, watched only: no "
    "reference image enters a loss), the same rule, budget and recipe for both zero-reference models; on "
    "those pairs the darkened-copies recipe was preferred over plain SICE (LucentVisionNet 15.67 dB against "
    "13.73 dB at step 3,000), exposure level 0.7 over the spec's 0.6 (16.57 against 15.67 dB at step 3,000) "
    "and 0.65 over 0.7 (17.27 against 16.67 dB at the best step of 6,000-step runs); no LOL image was used "
    "for training; EMA weights, float16 (under 0.01 dB from float32)"
)

LUCENTVISION_SICE = PretrainedWeights(
    model="lucentvision",
    file="lucentvision_sice.safetensors",
    sha256="a7f69d0581d99fbe6e06352b34b2d89d3abbf3e81e50eed40cf0b5fe6ffa906e",
    data="SICE Part 1 (2,002 multi-exposure images, resized to 128x128) plus darkened copies of the same "
    "images (lowlight's low-light simulation), no reference images",
    recipe="configs/lucentvision_sice_dark_cpu.yaml (zero-reference losses: spatial, exposure 0.65, colour, "
    "TV), a 6,000-step cosine schedule; checkpoint of step 5,500 (validation 17.27 dB)",
    steps=5500,
    training="2-core CPU (AMD EPYC, AVX-512), one thread, shared with other jobs: 0.75 h for the 6,000 steps",
    selection=_ZERO_SHOT_SELECTION,
    metrics={"psnr": 18.1206, "ssim": 0.5551, "ssim_skimage": 0.562},
    logs="training_logs/lucentvision_sice",
    tag="sice",
)

ZERO_DCE_SICE = PretrainedWeights(
    model="zero_dce",
    file="zero_dce_sice.safetensors",
    sha256="9f1db8346b6beec09565c9673c686ea2594701fd320909d1a91a09017e9b8f89",
    data="SICE Part 1 (2,002 multi-exposure images, resized to 128x128) plus darkened copies of the same "
    "images (lowlight's low-light simulation), no reference images",
    recipe="configs/zero_dce_sice_dark_cpu.yaml (the LucentVisionNet recipe; TV weight 200 for 24 curve "
    "maps), a 6,000-step cosine schedule; checkpoint of step 3,000 (validation 17.44 dB)",
    steps=3000,
    training="2-core CPU (AMD EPYC, AVX-512), one thread, shared with other jobs: 1.55 h for the 6,000 steps",
    selection=_ZERO_SHOT_SELECTION,
    metrics={"psnr": 17.7116, "ssim": 0.5382, "ssim_skimage": 0.5441},
    logs="training_logs/zero_dce_sice",
    tag="sice",
)

SHIPPED_WEIGHTS: tuple[PretrainedWeights, ...] = (DARKIR_M_LOL, FSIDNET_LOL, LUCENTVISION_SICE, ZERO_DCE_SICE)

# Model used by ``lowlight enhance`` when none is given (None: the best classical baseline). darkir_m
# looked best on the real photos of DICM: it brightens without lifting the sensor noise of dark skies,
# where the curve models and adaptive gamma amplify it (README, "Trained weights").
DEFAULT_ENHANCE_MODEL: str | None = "darkir_m"

# The paper's full evaluation on the real datasets, on a Ray cluster. The paths and the address are placeholders:
# point data_root at the folder holding one sub-folder per dataset in its official layout (webvid/, coco/,
# mcl_jcv/, ytvis/, ovis/, thumos14/, activitynet/, kinetics*/, mvbench/, ucf101/; see
# benchmarks/datasets/LAYOUTS.md), and the tokenizers at real checkpoints.
_base_ = ["embedded_default.py"]

data_root = "/data/pyratok-benchmarks"          # placeholder
out = "results-paper"
address = "ray://head-node:10001"               # placeholder; None for a local instance
tokenizers = [
    "pyratok:checkpoint=/checkpoints/pyratok",  # placeholder: the released PyraTok checkpoint directory
    "wan2.2-vae:path=/models/Wan2.2-VAE",       # placeholders: local diffusers weight directories
    "wan2.1-vae:path=/models/Wan2.1-VAE",
    "cogvideox-vae:path=/models/CogVideoX-VAE",
    "mochi-vae:path=/models/Mochi-VAE",
    "svd-vae:path=/models/SVD-VAE",
]

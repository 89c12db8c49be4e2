"""Runs an anchor script that has no AUTOCAST switch (torch_mlp.py) under PyTorch's bf16 autocast:
the whole script inside torch.autocast("cpu", torch.bfloat16), as torch_cnn.py and torch_rnn.py
do for their forward passes with AUTOCAST=1 (autocast changes only the forward ops; the backward
ops follow the forward dtypes). This is the like-for-like anchor for nntune's precision: bf16.
usage: torch_autocast.py ANCHOR_DIR SCRIPT ARGS...   (the anchor itself is not modified)"""
import os, runpy, sys
import torch
anchor_dir, script = sys.argv[1], sys.argv[2]
sys.argv = [script] + sys.argv[3:]
sys.path.insert(0, anchor_dir)
os.chdir(anchor_dir)
with torch.autocast("cpu", dtype=torch.bfloat16):
    runpy.run_path(os.path.join(anchor_dir, script), run_name="__main__")

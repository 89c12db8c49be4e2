"""Runs an anchor script that has no AUTOCAST switch (torch_mlp.py) as torch_cnn.py and torch_rnn.py
run with AUTOCAST=1: the model's forward pass and the loss under torch.autocast("cpu",
torch.bfloat16), the backward pass and the optimiser step outside it. It does so by wrapping
torch.nn.Sequential.forward and CrossEntropyLoss.forward (the anchor's model and loss), so the
anchor itself runs unmodified. (Running the whole script inside autocast broke its training:
test accuracy 0.08.) This is the like-for-like anchor for nntune's precision: bf16.
usage: torch_autocast.py ANCHOR_DIR SCRIPT ARGS..."""
import os, runpy, sys
import torch


def under_autocast(forward):
    def wrapped(self, *args, **kwargs):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return forward(self, *args, **kwargs)
    return wrapped


torch.nn.Sequential.forward = under_autocast(torch.nn.Sequential.forward)
torch.nn.CrossEntropyLoss.forward = under_autocast(torch.nn.CrossEntropyLoss.forward)
anchor_dir, script = sys.argv[1], sys.argv[2]
sys.argv = [script] + sys.argv[3:]
sys.path.insert(0, anchor_dir)
os.chdir(anchor_dir)
runpy.run_path(os.path.join(anchor_dir, script), run_name="__main__")

"""Inference throughput of the PyTorch anchor's CNN (../shared/anchors/torch_cnn.py's net) on the
10,000 Fashion-MNIST test images, beside nntune's cnn_bench: forward passes only, torch.no_grad,
eval mode, batches of BATCH, best of 3 passes. AUTOCAST=1 runs them under bf16 autocast as the
anchor does for training. The weights are the initial ones: speed does not depend on them.
usage: torch_cnn_inference.py ANCHORS_DIR THREADS BATCH"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import torch, fmnist
threads, batch = int(sys.argv[2]), int(sys.argv[3])
autocast = os.environ.get("AUTOCAST") == "1"
torch.set_num_threads(threads); torch.manual_seed(0)
_, _, xte, _ = map(torch.from_numpy, fmnist.load())
xte = xte.view(-1, 1, 28, 28)
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(64 * 49, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).eval()
n, best = xte.shape[0], 0.0
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
    for _ in range(3):
        t = time.perf_counter()
        for i in range(0, n, batch):
            model(xte[i:i + batch])
        best = max(best, n / (time.perf_counter() - t))
print(f"inference {best:.0f} samples/s (batch {batch})", flush=True)

#!/usr/bin/python3
"""PyTorch reference for `cnnviz train --model convnetjs-mnist` on Fashion-MNIST: the same network
(ConvNetJS's MNIST demo on whole 28x28 grey images: conv 8 5x5 pad 2 relu, max pool 2, conv 16 5x5 pad 2
relu, max pool 3, fully connected 10, softmax) and the same recipe (adadelta rho 0.95 eps 1e-6 lr 1,
batch 20, ConvNetJS L2 decay 0.001 on the summed gradient = weight decay 0.001/20 on the mean, weights
only; input pixel/255 - 0.5; random left-right flip and shift of up to 2 px, zero fill in input units),
on the same IDX files (gzipped or not). Test accuracy after every epoch, and when --minutes runs out.
Usage: /usr/bin/python3 fashion_mnist.py DATA_DIR [--epochs 10] [--minutes 15] [--threads 2] [--seed 1]
Prints one JSON line per evaluation."""
import argparse, gzip, json, os, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("data"); p.add_argument("--epochs", type=int, default=10); p.add_argument("--minutes", type=float, default=0)
p.add_argument("--threads", type=int, default=2); p.add_argument("--seed", type=int, default=1)
p.add_argument("--batch", type=int, default=20); p.add_argument("--l2", type=float, default=0.001)
p.add_argument("--no-flip", action="store_true", help="shift only (cnnviz's default for MNIST digits)")
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed); rng = np.random.RandomState(a.seed)

def idx(name):
    for path in (f"{a.data}/{name}", f"{a.data}/{name}.gz"):
        if os.path.exists(path):
            raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
            dims = raw[3]
            sizes = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(sizes)
    raise SystemExit(f"{a.data}/{name}[.gz]: file missing")

def load(prefix):
    x = idx(f"{prefix}-images-idx3-ubyte").astype(np.float32)[:, None] / 255.0 - 0.5
    return x, idx(f"{prefix}-labels-idx1-ubyte").astype(np.int64)
xtr, ytr = load("train"); xte, yte = load("t10k")
xte_t, yte_t = torch.from_numpy(xte), torch.from_numpy(yte)
H, W = xtr.shape[2], xtr.shape[3]

model = nn.Sequential(
    nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3),
    nn.Flatten(), nn.Linear(16 * (H // 2 // 3) * (W // 2 // 3), 10))
decay = [p_ for p_ in model.parameters() if p_.dim() > 1]
nodecay = [p_ for p_ in model.parameters() if p_.dim() <= 1]
opt = torch.optim.Adadelta([{"params": decay, "weight_decay": a.l2 / a.batch}, {"params": nodecay, "weight_decay": 0}], lr=1.0, rho=0.95, eps=1e-6)

def augment(xb):
    n = xb.shape[0]; out = np.zeros_like(xb)
    flips = (rng.rand(n) < 0.5) & (not a.no_flip); dxs = rng.randint(-2, 3, n); dys = rng.randint(-2, 3, n)
    for i in range(n):
        img = xb[i][:, :, ::-1] if flips[i] else xb[i]
        dx, dy = dxs[i], dys[i]
        # out[y, x] = img[y+dy, x+dx], zero outside
        ys, yd = (0, dy) if dy >= 0 else (-dy, 0); xs, xd = (0, dx) if dx >= 0 else (-dx, 0)
        h, w = H - abs(dy), W - abs(dx)
        out[i, :, ys:ys + h, xs:xs + w] = img[:, yd:yd + h, xd:xd + w]
    return out

def evaluate(ep, loss_sum, correct, seen, t0, note):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(xte_t[i:i + 500]).argmax(1) for i in range(0, len(xte_t), 500)])
    print(json.dumps({"epoch": ep, "note": note, "trainLoss": loss_sum / max(1, seen // a.batch), "trainAccuracy": correct / max(1, seen),
                      "testAccuracy": (pred == yte_t).float().mean().item(), "seconds": round(time.time() - t0, 1)}), flush=True)
    model.train()

t0 = time.time(); deadline = t0 + 60 * a.minutes if a.minutes > 0 else None
for ep in range(1, a.epochs + 1):
    model.train(); perm = rng.permutation(len(xtr)); correct = 0; loss_sum = 0.0; seen = 0
    for b in range(len(xtr) // a.batch):
        idx_ = perm[b * a.batch:(b + 1) * a.batch]
        xb = torch.from_numpy(augment(xtr[idx_])); yb = torch.from_numpy(ytr[idx_])
        out = model(xb); loss = F.cross_entropy(out, yb)
        opt.zero_grad(); loss.backward(); opt.step()
        loss_sum += loss.item(); correct += (out.argmax(1) == yb).sum().item(); seen += a.batch
        if deadline and time.time() >= deadline:
            evaluate(ep, loss_sum, correct, seen, t0, f"stopped at {a.minutes} minutes, {b + 1} batches into epoch {ep}")
            raise SystemExit(0)
    evaluate(ep, loss_sum, correct, seen, t0, "end of epoch")

#!/usr/bin/python3
"""PyTorch reference for `cnnviz train --model resnet20` (or resnet8, or speedrun) with its preset recipe
and the evaluation options: the same network (He et al. 2016 sec. 4.2 CIFAR ResNet, 1x1 projection
shortcuts, BN after every conv; or src/nn/speedrun.ts) and the same recipe as src/train/recipes.ts: SGD with Nesterov momentum 0.9,
one-cycle learning rate (from lr/25 up to lr 0.2 along half a cosine over the first 30% of the steps,
then down to lr/25/1e4), weight decay 5e-4 on conv/fc weights only, batch 128 cut into micro-batches of
32 whose batch-norm statistics are their own ("ghost" batch norm, as cnnviz's workers compute them),
optional label smoothing, pixel/255 - 0.5, random left-right flip and shift of up to 2 px (zero fill),
every batch of the epoch including the last partial one.
Evaluation options as cnnviz's:
  --tta flip      average the softmax of each test image and of its left-right mirror
  --ema DECAY     evaluate an exponential moving average of the weights and batch-norm running
                  statistics, decay of update t = min(DECAY, (1 + t) / (10 + t))
  --holdout N     the last N training images (after --train-limit) are not trained on; their accuracy
                  is reported each epoch as valAccuracy
The speedrun preset's recipe is this one with --label-smoothing 0.2 --tta flip.
Usage: /usr/bin/python3 cifar_recipe.py DATA_DIR [--net resnet20|resnet8|speedrun] [--epochs 15] [--threads 2] [--seed 1]
         [--tta flip] [--ema 0.999] [--holdout 5000] [--label-smoothing 0.1] [--channels-last]
         [--train-limit N] [--test-limit N] [--max-batches N (a quick check: stop each epoch early)]
Prints one JSON line per epoch (testAccuracyFirst1000: CIFAR-10's first 1,000 test records)."""
import argparse, json, math, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("data"); p.add_argument("--net", default="resnet20", choices=["resnet8", "resnet20", "speedrun"])
p.add_argument("--epochs", type=int, default=15); p.add_argument("--threads", type=int, default=2); p.add_argument("--seed", type=int, default=1)
p.add_argument("--batch", type=int, default=128); p.add_argument("--micro-batch", type=int, default=32)
p.add_argument("--lr", type=float, default=0.2); p.add_argument("--momentum", type=float, default=0.9); p.add_argument("--wd", type=float, default=5e-4)
p.add_argument("--label-smoothing", type=float, default=0.0)
p.add_argument("--tta", default="none", choices=["none", "flip"]); p.add_argument("--ema", type=float, default=None)
p.add_argument("--holdout", type=int, default=0); p.add_argument("--train-limit", type=int, default=None); p.add_argument("--test-limit", type=int, default=None)
p.add_argument("--channels-last", action="store_true"); p.add_argument("--max-batches", type=int, default=None)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed); rng = np.random.RandomState(a.seed)
fmt = torch.channels_last if a.channels_last else torch.contiguous_format


def load(names, limit):
    raw = np.concatenate([np.fromfile(f"{a.data}/{n}.bin", dtype=np.uint8).reshape(-1, 3073) for n in names])[:limit]
    return raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0 - 0.5, raw[:, 0].astype(np.int64)


xtr, ytr = load([f"data_batch_{i}" for i in range(1, 6)], a.train_limit); xte, yte = load(["test_batch"], a.test_limit)
if a.holdout:
    if a.holdout >= len(xtr): raise SystemExit(f"--holdout {a.holdout}: leaves no training images (there are {len(xtr)})")
    xva, yva = xtr[-a.holdout:], ytr[-a.holdout:]; xtr, ytr = xtr[:-a.holdout], ytr[:-a.holdout]


class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout)
        s.sc = None
        if stride != 1 or cin != cout:
            s.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(s, x):
        o = F.relu(s.b1(s.c1(x))); o = s.b2(s.c2(o))
        return F.relu(o + (x if s.sc is None else s.sc(x)))


class ResNet(nn.Module):
    def __init__(s, n):
        super().__init__()
        s.c = nn.Conv2d(3, 16, 3, 1, 1, bias=False); s.b = nn.BatchNorm2d(16)
        layers = []; cin = 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(n):
                layers.append(Block(cin, cout, stride if i == 0 else 1)); cin = cout
        s.layers = nn.Sequential(*layers); s.fc = nn.Linear(64, 10)

    def forward(s, x):
        x = F.relu(s.b(s.c(x))); x = s.layers(x)
        return s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class Speedrun(nn.Module):
    """src/nn/speedrun.ts: conv3x3 24 + bn + relu, then per block (32, 128, 128 channels)
    conv3x3 -> maxpool 2 -> bn -> relu -> conv3x3 -> bn -> relu; global average pool, fc."""
    def __init__(s):
        super().__init__()
        layers = [nn.Conv2d(3, 24, 3, 1, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU()]; cin = 24
        for w in (32, 128, 128):
            layers += [nn.Conv2d(cin, w, 3, 1, 1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(w), nn.ReLU(),
                       nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]; cin = w
        s.features = nn.Sequential(*layers); s.fc = nn.Linear(cin, 10)

    def forward(s, x):
        return s.fc(F.adaptive_avg_pool2d(s.features(x), 1).flatten(1))


def make_net():
    return Speedrun() if a.net == "speedrun" else ResNet({"resnet8": 1, "resnet20": 3}[a.net])


model = make_net().to(memory_format=fmt)
decay = [q for q in model.parameters() if q.dim() > 1]; nodecay = [q for q in model.parameters() if q.dim() <= 1]
opt = torch.optim.SGD([{"params": decay, "weight_decay": a.wd}, {"params": nodecay, "weight_decay": 0}], lr=a.lr, momentum=a.momentum, nesterov=True)
steps_per_epoch = math.ceil(len(xtr) / a.batch); total = max(1, a.epochs * steps_per_epoch)
warm = max(1, round(0.3 * a.epochs * steps_per_epoch))


def rate(step):
    """src/train/schedule.ts, onecycle: half cosines lr/25 -> lr -> lr/25/1e4."""
    t = min(step, total - 1); start = a.lr / 25; end = start / 1e4
    cos = lambda x, y, f: y + (x - y) * (1 + math.cos(math.pi * min(1, max(0, f)))) / 2
    return cos(start, a.lr, t / warm) if t < warm else cos(a.lr, end, (t - warm) / max(1, total - 1 - warm))


# The moving average: parameters and batch-norm running statistics (num_batches_tracked is not averaged).
ema_model = None; ema_updates = 0
if a.ema is not None:
    ema_model = make_net().to(memory_format=fmt); ema_model.load_state_dict(model.state_dict())


def ema_update():
    global ema_updates
    d = min(a.ema, (1 + ema_updates) / (10 + ema_updates)); ema_updates += 1
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point: ema_model.state_dict()[k].mul_(d).add_(v, alpha=1 - d)


def augment(xb):
    n = xb.shape[0]; out = np.zeros_like(xb)
    flips = rng.rand(n) < 0.5; dxs = rng.randint(-2, 3, n); dys = rng.randint(-2, 3, n)
    for i in range(n):
        img = xb[i][:, :, ::-1] if flips[i] else xb[i]
        dx, dy = dxs[i], dys[i]
        ys, yd = (0, dy) if dy >= 0 else (-dy, 0); xs, xd = (0, dx) if dx >= 0 else (-dx, 0)
        h, w = 32 - abs(dy), 32 - abs(dx)
        out[i, :, ys:ys + h, xs:xs + w] = img[:, yd:yd + h, xd:xd + w]
    return out


def predict(net, x):
    """Softmax probabilities of x in chunks of 500, averaged with the mirror's under --tta flip."""
    net.eval(); out = []
    with torch.no_grad():
        for i in range(0, len(x), 500):
            xb = torch.from_numpy(x[i:i + 500]).contiguous(memory_format=fmt)
            pr = F.softmax(net(xb), 1)
            if a.tta == "flip": pr = (pr + F.softmax(net(xb.flip(3)), 1)) / 2
            out.append(pr)
    return torch.cat(out)


def accuracy(pr, y):
    return (pr.argmax(1) == torch.from_numpy(y)).float().mean().item() if len(y) else 0.0


t0 = time.time(); step = 0
for ep in range(1, a.epochs + 1):
    model.train(); perm = rng.permutation(len(xtr)); correct = 0; loss_sum = 0.0; seen = 0
    for b in range(steps_per_epoch):
        if a.max_batches is not None and b >= a.max_batches: break
        idx = perm[b * a.batch:(b + 1) * a.batch]
        xb = torch.from_numpy(augment(xtr[idx])).contiguous(memory_format=fmt); yb = torch.from_numpy(ytr[idx])
        for g in opt.param_groups: g["lr"] = rate(step)
        opt.zero_grad()
        # Ghost batch norm: each micro-batch normalised with its own statistics; gradients summed, / batch.
        for m in range(0, len(idx), a.micro_batch):
            out = model(xb[m:m + a.micro_batch]); ym = yb[m:m + a.micro_batch]
            loss = F.cross_entropy(out, ym, label_smoothing=a.label_smoothing, reduction="sum")
            (loss / len(idx)).backward()
            loss_sum += loss.item(); correct += (out.argmax(1) == ym).sum().item()
        opt.step(); step += 1; seen += len(idx)
        if ema_model is not None: ema_update()
    net = ema_model if ema_model is not None else model
    pte = predict(net, xte)
    rec = {"epoch": ep, "trainLoss": loss_sum / max(seen, 1), "trainAccuracy": correct / max(seen, 1), "testAccuracy": accuracy(pte, yte),
           "testAccuracyFirst1000": accuracy(pte[:1000], yte[:1000]), "learningRate": rate(step - 1), "seconds": round(time.time() - t0, 1),
           "evaluatedWith": "; ".join(([f"weight average (ema {a.ema})"] if a.ema is not None else []) + (["flip test-time augmentation"] if a.tta == "flip" else []))}
    if a.holdout: rec["valAccuracy"] = accuracy(predict(net, xva), yva)
    print(json.dumps(rec), flush=True)

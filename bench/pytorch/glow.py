"""PyTorch replica of our Glow Small (src/Workbench/Flows, GlowConfig.Small) and of one FlowTrainer step.

Glow.Small on 1x28x28: 2 levels of 8 steps, coupling width 64, affine coupling, LU-decomposed invertible 1x1
convolution, learned top prior; each step ActNorm (data-dependent init) -> InvertibleConv1x1LU -> AffineCoupling
(conv3x3 - ReLU - conv1x1 - ReLU - ZeroConv2d, sigmoid(h + 2) scale); Split with a ZeroConv2d conditional prior
after every level but the last. Loss: bits/dim of the dequantized 8-bit input (x/256 - 0.5 + U(0, 1/256)) with
the -D log 256 correction, batch mean. Step: linear LR warm-up (1e-3 over 200 steps), Adam, zero_grad, loss,
item() (the divergence check), backward, clip_grad_norm_(100), step. Sampling: eps ~ N(0, I) at T = 1 through
the inverse, to uint8. Protocol: bench/README.md (common.py).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import fashion_batch, optimizer_step, run_worker, trainable_params

LEVELS, STEPS, HIDDEN, NBITS = 2, 8, 64, 8
LR, WARMUP, MAX_GRAD_NORM, DIVERGE_BPD = 1e-3, 200, 100.0, 50.0


def spatial(x):
    n = 1
    for d in x.shape[2:]:
        n *= d
    return n


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.bias = nn.Parameter(torch.zeros(c))
        self.logs = nn.Parameter(torch.zeros(c))
        self.register_buffer("initialized", torch.zeros(1))

    def initialize(self, x):
        with torch.no_grad():
            flat = x.transpose(0, 1).reshape(self.c, -1)
            mean = flat.mean(1)
            std = (flat - mean.unsqueeze(1)).pow(2).mean(1).sqrt()
            self.bias.copy_(-mean)
            self.logs.copy_(-(std + 1e-6).log())
            self.initialized.fill_(1)

    def forward(self, x):
        if self.initialized.item() == 0:
            self.initialize(x)
        shape = (1, self.c, 1, 1)
        y = (x + self.bias.view(shape)) * self.logs.view(shape).exp()
        return y, (self.logs.sum() * spatial(x)).expand(x.shape[0])

    def inverse(self, y):
        shape = (1, self.c, 1, 1)
        return y * (-self.logs.view(shape)).exp() - self.bias.view(shape)


class InvConv1x1LU(nn.Module):
    def __init__(self, c):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c))
        p, l, u = torch.linalg.lu(q.double())
        d = torch.diagonal(u)
        self.register_buffer("p", p.float())
        self.register_buffer("sign_s", torch.sign(d).float())
        self.register_buffer("lower_mask", torch.ones(c, c).tril(-1))
        self.register_buffer("upper_mask", torch.ones(c, c).triu(1))
        self.register_buffer("eye", torch.eye(c))
        self.lower = nn.Parameter(l.float())
        self.upper = nn.Parameter(torch.triu(u, 1).float())
        self.log_s = nn.Parameter(d.abs().log().float())

    def weight(self):
        l = self.lower * self.lower_mask + self.eye
        u = self.upper * self.upper_mask + torch.diag(self.sign_s * self.log_s.exp())
        return self.p.matmul(l).matmul(u)

    def forward(self, x):
        w = self.weight()
        return F.conv2d(x, w.view(w.shape[0], w.shape[1], 1, 1)), (self.log_s.sum() * spatial(x)).expand(x.shape[0])

    def inverse(self, y):
        w = torch.linalg.inv(self.weight())
        return F.conv2d(y, w.view(w.shape[0], w.shape[1], 1, 1))


class ZeroConv2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()
        self.logs = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        return self.conv(x) * (self.logs * 3).exp().view(1, -1, 1, 1)


class CouplingNetwork(nn.Module):
    def __init__(self, cin, hidden, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, hidden, 1)
        self.conv3 = ZeroConv2d(hidden, cout)

    def forward(self, x):
        return self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))


class AffineCoupling(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.c = c
        self.net = CouplingNetwork(c // 2, hidden, 2 * (c - c // 2))

    def shift_scale(self, xa):
        cb = self.c - self.c // 2
        h = self.net(xa)
        return h.narrow(1, 0, cb), torch.sigmoid(h.narrow(1, cb, cb) + 2.0)

    def forward(self, x):
        ca = self.c // 2
        xa, xb = x.narrow(1, 0, ca), x.narrow(1, ca, self.c - ca)
        shift, scale = self.shift_scale(xa)
        return torch.cat([xa, (xb + shift) * scale], 1), scale.log().flatten(1).sum(1)

    def inverse(self, y):
        ca = self.c // 2
        ya, yb = y.narrow(1, 0, ca), y.narrow(1, ca, self.c - ca)
        shift, scale = self.shift_scale(ya)
        return torch.cat([ya, yb / scale - shift], 1)


class FlowSequence(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        logdet = torch.zeros(x.shape[0], dtype=x.dtype)
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, y):
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y


def flow_step(c):
    return FlowSequence([ActNorm(c), InvConv1x1LU(c), AffineCoupling(c, HIDDEN)])


class Split(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.kept, self.factored = c // 2, c - c // 2
        self.prior = ZeroConv2d(self.kept, 2 * self.factored)

    def _prior(self, kept):
        h = self.prior(kept)
        return h.narrow(1, 0, self.factored), h.narrow(1, self.factored, self.factored)

    def forward(self, x):
        kept, z2 = x.narrow(1, 0, self.kept), x.narrow(1, self.kept, self.factored)
        mean, logs = self._prior(kept)
        return kept, (z2 - mean) * (-logs).exp(), -logs.flatten(1).sum(1)

    def inverse(self, kept, eps):
        mean, logs = self._prior(kept)
        return torch.cat([kept, mean + logs.exp() * eps], 1)


class LearnedPrior(nn.Module):
    def __init__(self, c, h, w):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(1, c, h, w))
        self.logs = nn.Parameter(torch.zeros(1, c, h, w))

    def forward(self, z):
        return (z - self.mean) * (-self.logs).exp(), (-self.logs.sum()).expand(z.shape[0])

    def inverse(self, eps):
        return self.mean + self.logs.exp() * eps


def squeeze(x):
    b, c, h, w = x.shape
    return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)


def unsqueeze(y):
    b, c4, h, w = y.shape
    c = c4 // 4
    return y.view(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, h * 2, w * 2)


def std_normal_logp(z):
    return (-0.5 * (z * z + math.log(2 * math.pi))).flatten(1).sum(1)


class Glow(nn.Module):
    def __init__(self, channels=1, height=28, width=28):
        super().__init__()
        self.dims = channels * height * width
        levels, splits, self.latent_shapes = [], [], []
        c, h, w = channels, height, width
        for l in range(LEVELS):
            c, h, w = c * 4, h // 2, w // 2
            levels.append(FlowSequence([flow_step(c) for _ in range(STEPS)]))
            if l < LEVELS - 1:
                s = Split(c)
                splits.append(s)
                self.latent_shapes.append((s.factored, h, w))
                c = s.kept
        self.latent_shapes.append((c, h, w))
        self.levels = nn.ModuleList(levels)
        self.splits = nn.ModuleList(splits)
        self.prior = LearnedPrior(c, h, w)

    def encode_levels(self, x):
        eps = []
        logdet = torch.zeros(x.shape[0], dtype=x.dtype)
        h = x
        for l, level in enumerate(self.levels):
            h = squeeze(h)
            h, ld = level(h)
            logdet = logdet + ld
            if l < len(self.splits):
                h, e, lds = self.splits[l](h)
                eps.append(e)
                logdet = logdet + lds
        top, ldp = self.prior(h)
        eps.append(top)
        return eps, logdet + ldp

    def bits_per_dim(self, x):
        eps, logp = self.encode_levels(x)
        for e in eps:
            logp = logp + std_normal_logp(e)
        logp = logp + (-self.dims * NBITS * math.log(2))
        return -logp / (self.dims * math.log(2))

    def decode(self, z):
        parts, off = [], 0
        for (c, h, w) in self.latent_shapes:
            n = c * h * w
            parts.append(z.narrow(1, off, n).reshape(z.shape[0], c, h, w))
            off += n
        h = self.prior.inverse(parts[-1])
        for l in range(len(self.levels) - 1, -1, -1):
            if l < len(self.splits):
                h = self.splits[l].inverse(h, parts[l])
            h = self.levels[l].inverse(h)
            h = unsqueeze(h)
        return h


def linear_warmup(step, lr, warmup):
    return lr if warmup <= 0 else lr * min(1.0, (step + 1) / warmup)


class GlowWorker:
    def __init__(self, args):
        self.model = Glow(1, 28, 28)
        self.params_list = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(self.params_list, lr=LR)
        self.images = fashion_batch(args)
        self.step_index = 0

    def params(self):
        return trainable_params(self.model)

    def _input(self):
        bins = 2.0 ** NBITS
        x = self.images.float() / bins - 0.5
        return x + torch.rand_like(x) / bins

    def step(self):
        lr = linear_warmup(self.step_index, LR, WARMUP)
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.model.train()
        optimizer_step(self.opt, self.params_list, lambda: self.model.bits_per_dim(self._input()).mean(),
                       MAX_GRAD_NORM, self.step_index, DIVERGE_BPD, "train bpd")
        self.step_index += 1

    def sample(self, n):
        self.model.eval()
        try:
            with torch.no_grad():
                x = self.model.decode(torch.randn(n, self.model.dims) * 1.0)
                bins = 2.0 ** NBITS
                torch.floor((x + 0.5) * bins).clamp(0, bins - 1).to(torch.uint8)
        finally:
            self.model.train()

    def forward_for_flops(self):
        self.model.train()
        self.model.bits_per_dim(self._input()).mean()


if __name__ == "__main__":
    run_worker(GlowWorker)

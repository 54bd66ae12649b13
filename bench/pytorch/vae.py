"""PyTorch replica of our plain VAE Small (src/Workbench/Nvae/Vae.cs, VaeConfig.Small) and one NvaeTrainer step.

VaeConfig.Small on 1x28x28: stem conv3x3 1->12; encoder = [EncoderResidualCell 12->24 (down), 24->24, 24->48 (down),
48->48, ELU]; encoder cell = BN -> SiLU -> conv3x3 (stride 2 when down) -> BN -> SiLU -> conv3x3 -> SE, skip conv1x1
stride 2 when down, output skip + 0.1 * branch; q-sampler conv3x3 48->2*20 (one latent group 20x7x7), decoder input
conv3x3 20->48; decoder = [GeneratorResidualCell 48->48, 48->24 (up), 24->24, 24->12 (up), ELU]; generator cell =
(nearest 2x up) BN -> conv1x1 (x3) -> BN -> SiLU -> depthwise conv5x5 -> BN -> SiLU -> conv1x1 -> BN -> SE, skip
conv1x1 when up; output conv3x3 12->30 (discretized logistic mixture, 10 components). BatchNorm momentum 0.05, SE
hidden max(C/16, 4); weight normalisation off (as Vae builds its cells). N(mu, sigma) with NVAE's soft clamps.
Step (NvaeTrainer.TrainStepOn): LR warm-up 200 then cosine 1e-2 -> 1e-4 over 3,000 steps, KL warm-up beta over 30%
with KL balancing, loss = mean(-log p(x|z) + beta * balanced KL) + 1e-2 * sum of spectral norms (4 power iterations
per step over every conv, 40 at construction), Adamax(1e-2, (0.9, 0.999), eps 1e-3, weight decay 3e-4),
item() (divergence check), backward, clip_grad_norm_(200). Sampling: z ~ N(0, I) through the decoder, the
mixture's most probable component's mean, to uint8. Protocol: bench/README.md (common.py).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import fashion_batch, run_worker, trainable_params

STEM, WIDTHS, LATENT, CELLS, EXPANSION, COMPONENTS, RS = 12, (24, 48), 20, 1, 3, 10, 0.1
STEPS, LR, MIN_LR, WARMUP, WD, MAX_GRAD_NORM = 3000, 1e-2, 1e-4, 200, 3e-4, 200.0
KL_ANNEAL, KL_CONST, KL_MIN, LAMBDA, POWER_ITERS, INITIAL_ITERS = 0.3, 0.0001, 1e-4, 1e-2, 4, 40
HALF_LOG_2PI = 0.91893853320467274178


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.05)


class SqueezeExcitation(nn.Module):
    def __init__(self, c, reduction=16, min_hidden=4):
        super().__init__()
        h = max(c // reduction, min_hidden)
        self.fc1 = nn.Linear(c, h)
        self.fc2 = nn.Linear(h, c)

    def forward(self, x):
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))
        return x * g.unsqueeze(-1).unsqueeze(-1)


class EncoderCell(nn.Module):
    def __init__(self, cin, cout, down):
        super().__init__()
        self.bn1 = bn(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2 if down else 1, padding=1)
        self.bn2 = bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.se = SqueezeExcitation(cout)
        self.skip = nn.Conv2d(cin, cout, 1, stride=2) if down else None

    def forward(self, x):
        s = x if self.skip is None else self.skip(x)
        h = self.conv1(F.silu(self.bn1(x)))
        h = self.conv2(F.silu(self.bn2(h)))
        return s + RS * self.se(h)


class GeneratorCell(nn.Module):
    def __init__(self, cin, cout, expansion, up):
        super().__init__()
        hidden = cin * expansion
        self.bn0 = bn(cin)
        self.expand = nn.Conv2d(cin, hidden, 1)
        self.bn1 = bn(hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, 5, padding=2, groups=hidden)
        self.bn2 = bn(hidden)
        self.project = nn.Conv2d(hidden, cout, 1)
        self.bn3 = bn(cout)
        self.se = SqueezeExcitation(cout)
        self.skip = nn.Conv2d(cin, cout, 1) if up else None
        self.up = up

    def forward(self, x):
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        s = x if self.skip is None else self.skip(x)
        h = self.expand(self.bn0(x))
        h = F.silu(self.bn1(h))
        h = self.depthwise(h)
        h = self.project(F.silu(self.bn2(h)))
        return s + RS * self.se(self.bn3(h))


def soft_clamp(x):
    return torch.tanh(x / 5.0) * 5.0


class DiagonalNormal:
    def __init__(self, mu, sigma):
        self.mu, self.sigma = mu, sigma

    @staticmethod
    def from_params(mu, log_sigma):
        return DiagonalNormal(soft_clamp(mu), torch.exp(soft_clamp(log_sigma)) + 1e-2)

    def sample(self):
        return self.mu + self.sigma * torch.randn_like(self.mu) * 1.0

    def log_prob(self, z):
        e = (z - self.mu) / self.sigma
        return -0.5 * e * e - torch.log(self.sigma) - HALF_LOG_2PI

    def kl(self, p):
        r = self.sigma / p.sigma
        d = (self.mu - p.mu) / p.sigma
        return 0.5 * (d * d + r * r) - torch.log(r) - 0.5


class Logistics:
    """Discretized mixture of logistics for 1-channel 8-bit images (DiscretizedLogisticMixture, C = 1)."""

    def __init__(self, k):
        self.k = k

    def split(self, p):
        k, b, h, w = self.k, p.shape[0], p.shape[2], p.shape[3]
        logits = p[:, :k]
        means = p[:, k:2 * k].reshape(b, 1, k, h, w)
        log_scales = p[:, 2 * k:3 * k].reshape(b, 1, k, h, w).clamp_min(-7.0)
        return logits, means, log_scales

    def log_prob(self, p, images):
        logits, means, log_scales = self.split(p)
        x = (images.float() / 127.5 - 1).unsqueeze(2)
        inv_s = torch.exp(-log_scales)
        centered = x - means
        a = inv_s * (centered + 1.0 / 255)
        b_low = inv_s * (centered - 1.0 / 255)
        log_cdf_upper = F.logsigmoid(a)
        log_one_minus_cdf_lower = F.logsigmoid(-b_low)
        width = inv_s * (2.0 / 255)
        interior = log_cdf_upper + log_one_minus_cdf_lower + torch.log(-torch.expm1(-width))
        lo = (x < -0.999).expand_as(interior)
        hi = (x > 0.999).expand_as(interior)
        per = torch.where(lo, log_cdf_upper, torch.where(hi, log_one_minus_cdf_lower, interior))
        per_comp = per.sum(1) + F.log_softmax(logits, 1)
        return torch.logsumexp(per_comp, 1).sum((1, 2))

    def mean(self, p):
        with torch.no_grad():
            logits, means, log_scales = self.split(p)
            choice = logits.argmax(1)
            onehot = F.one_hot(choice, self.k).permute(0, 3, 1, 2).to(means.dtype).unsqueeze(1)
            mu = (means * onehot).sum(2)
            (log_scales * onehot).sum(2)
            xs = [mu[:, 0].clamp(-1, 1)]
            return ((torch.stack(xs, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


class SpectralNorm(nn.Module):
    def __init__(self, rows, cols, generator):
        super().__init__()
        self.register_buffer("u", F.normalize(torch.randn(rows, generator=generator), dim=0))
        self.register_buffer("v", F.normalize(torch.randn(cols, generator=generator), dim=0))

    def sigma(self, weight, iterations):
        w = weight.reshape(weight.shape[0], -1)
        with torch.no_grad():
            wd = w.detach()
            for _ in range(iterations):
                vn = F.normalize(torch.matmul(wd.t(), self.u), dim=0, eps=1e-12)
                un = F.normalize(torch.matmul(wd, vn), dim=0, eps=1e-12)
                self.v.copy_(vn)
                self.u.copy_(un)
        return torch.dot(self.u, torch.matmul(w, self.v))


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.likelihood = Logistics(COMPONENTS)
        self.stem = nn.Conv2d(1, STEM, 3, padding=1)
        enc, c = [], STEM
        for w in WIDTHS:
            enc.append(EncoderCell(c, w, True))
            c = w
            for _ in range(CELLS):
                enc.append(EncoderCell(c, c, False))
        enc.append(nn.ELU())
        self.encoder = nn.Sequential(*enc)
        self.enc_sampler = nn.Conv2d(c, 2 * LATENT, 3, padding=1)
        self.dec_input = nn.Conv2d(LATENT, c, 3, padding=1)
        dec = []
        for i in range(len(WIDTHS) - 1, -1, -1):
            for _ in range(CELLS):
                dec.append(GeneratorCell(c, c, EXPANSION, False))
            nxt = WIDTHS[i - 1] if i > 0 else STEM
            dec.append(GeneratorCell(c, nxt, EXPANSION, True))
            c = nxt
        dec.append(nn.ELU())
        self.decoder = nn.Sequential(*dec)
        self.output = nn.Conv2d(c, COMPONENTS * 3, 3, padding=1)
        self.side = 28 >> len(WIDTHS)
        # the spectral regulariser over every conv (buffers only, no parameters), 40 power iterations up front
        self.convs = [m for m in self.modules() if isinstance(m, nn.Conv2d)]
        g = torch.Generator().manual_seed(1)
        self.norms = nn.ModuleList([SpectralNorm(m.weight.shape[0], m.weight[0].numel(), g) for m in self.convs])
        with torch.no_grad():
            for m, n in zip(self.convs, self.norms):
                n.sigma(m.weight, INITIAL_ITERS)

    def sum_of_sigmas(self, iterations):
        return torch.stack([n.sigma(m.weight, iterations) for m, n in zip(self.convs, self.norms)]).sum()

    def decode(self, z):
        return self.output(self.decoder(self.dec_input(z)))

    def forward(self, images):
        x = images.float() / 127.5 - 1
        qp = self.enc_sampler(self.encoder(self.stem(x))).chunk(2, 1)
        q = DiagonalNormal.from_params(qp[0], qp[1])
        prior = DiagonalNormal(torch.zeros_like(q.mu), torch.ones_like(q.mu))
        z = q.sample()
        params = self.decode(z)
        log_px = self.likelihood.log_prob(params, images)
        kl = q.kl(prior)
        log_q = q.log_prob(z).sum((1, 2, 3))
        log_p = prior.log_prob(z).sum((1, 2, 3))
        return params, log_px, [kl], log_q, log_p


def warmup_cosine(step, lr, warmup, total, floor):
    warmup = max(0, warmup)
    if step < warmup:
        return lr * min(1.0, (step + 1) / warmup) if warmup > 0 else lr
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + 0.5 * (lr - floor) * (1 + math.cos(math.pi * t))


def kl_beta(step):
    anneal, const = int(KL_ANNEAL * STEPS), int(KL_CONST * STEPS)
    if anneal <= 0:
        return 1.0
    return max(min((step - const) / anneal, 1.0), KL_MIN)


class VaeWorker:
    def __init__(self, args):
        self.model = Vae()
        self.params_list = list(self.model.parameters())
        self.opt = torch.optim.Adamax(self.params_list, lr=LR, betas=(0.9, 0.999), eps=1e-3, weight_decay=WD)
        self.alpha = torch.tensor([1.0])
        self.images = fashion_batch(args)
        self.step_index = 0

    def params(self):
        return trainable_params(self.model)

    def _loss(self, beta):
        _, log_px, kl, _, _ = self.model(self.images)
        kl_g = torch.stack([k.sum((1, 2, 3)) for k in kl], 1)
        if beta < 1.0:
            with torch.no_grad():
                c = kl_g.detach().abs().mean(0) + 0.01
                c = c / self.alpha
                gamma = c / c.mean()
        else:
            gamma = torch.ones(kl_g.shape[1])
        kl_bal = beta * (kl_g * gamma.unsqueeze(0)).sum(1)
        loss = (-log_px + kl_bal).mean()
        s = self.model.sum_of_sigmas(POWER_ITERS)
        s.item()
        return loss + LAMBDA * s

    def step(self):
        lr = warmup_cosine(self.step_index, LR, WARMUP, STEPS, MIN_LR)
        for g in self.opt.param_groups:
            g["lr"] = lr
        beta = kl_beta(self.step_index)
        self.model.train()
        self.opt.zero_grad()
        loss = self._loss(beta)
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError("training diverged at step %d: loss %g" % (self.step_index, value))
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params_list, MAX_GRAD_NORM)
        if not math.isfinite(float(norm)):
            raise RuntimeError("training diverged at step %d: gradient norm %g" % (self.step_index, float(norm)))
        self.opt.step()
        self.step_index += 1

    def sample(self, n):
        self.model.eval()
        try:
            with torch.no_grad():
                z = torch.randn(n, LATENT, self.model.side, self.model.side) * 1.0
                self.model.likelihood.mean(self.model.decode(z))
        finally:
            self.model.train()

    def forward_for_flops(self):
        self.model.train()
        self._loss(kl_beta(self.step_index))


if __name__ == "__main__":
    run_worker(VaeWorker)

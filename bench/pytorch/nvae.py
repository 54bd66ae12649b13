"""PyTorch 1.13 replica of our NVAE (NvaeConfig.Small) and one NvaeTrainer step, for the paired speed benchmark.

Specification: src/Workbench/Nvae/ (Nvae.cs, NvaeConfig.cs, EncoderResidualCell.cs, GeneratorResidualCell.cs,
LatentGroup.cs, ResidualNormal.cs, DiagonalNormal.cs, NvaeBatchNorm.cs, WeightNormConv2d.cs,
SpectralRegularizer.cs + Nn/SpectralNorm.cs, KlBalancer.cs, DiscretizedLogisticMixture.cs, VaeModel.cs,
NvaeTrainer.cs, NvaeTrainConfig.cs, Nn/SqueezeExcitation.cs, Nn/DepthwiseConv2dFunction.cs,
Training/TrainStep.cs, Training/Schedules.cs). Module names/order follow the C# classes.

Small preset (28x28x1, no padding): stem WN-conv3x3 1->12 @28; one preprocessing encoder cell 12->24 (down)
@14; latent scales 7x7 (width 48, 2 groups) and 14x14 (width 24, 2 groups) of 20 channels; one encoder /
one decoder cell per group; expansion 3; one postprocessing generator cell 24->12 (up) @28; ELU + WN-conv3x3
12->30 (10-component discretized logistic mixture); residual Normal posterior, no IAF cells, weight norm and
BN scale penalty on.

Training step (NvaeTrainer.TrainStepOn + TrainStep.Run, NvaeTrainConfig defaults, Steps = 3000):
Adamax(lr from warm-up/cosine schedule, betas (0.9, 0.999), eps 1e-3, weight decay 3e-4); loss =
mean_b(-log p(x|z) + beta * sum_l gamma_l KL_l) + lambda * (sum_i sigma_i + sum_BN max|gamma|) with lambda = 1e-2,
sigma_i by 4 power iterations per step over every conv (the WN applied weight or the plain weight); KL warm-up
beta over 30% of the steps from 1e-4 and KL balancing while beta < 1; loss.item() finite check; backward;
clip_grad_norm_(200); step. The per-step logging row is left out (the C# worker sets LogEvery = 0).

The depthwise 5x5 conv of the generator cells runs, as ours does on the CPU, through a custom autograd Function
with the same hand-written backward as Nn/DepthwiseConv2dFunction.cs (default). ``--depthwise native`` uses
PyTorch's own grouped-conv backward instead (an extra, optional flag outside the fixed protocol).
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fashion_batch, optimizer_step, run_worker, trainable_params  # noqa: E402

HALF_LOG_2PI = 0.91893853320467274178

# NvaeConfig.Small
SMALL = dict(image_channels=1, image_size=28, stem_channels=12, preprocess_blocks=1, preprocess_cells=1,
             groups_per_scale=[2, 2], latent_channels=20, encoder_cells_per_group=1, decoder_cells_per_group=1,
             postprocess_cells=1, expansion=3, components=10, residual_posterior=True, residual_scale=0.1,
             iaf_cells=0, weight_norm=True, batch_norm_penalty=True)

# NvaeTrainConfig defaults (the CLI's small preset keeps them; Steps/BatchSize come from the run)
TRAIN = dict(steps=3000, lr=1e-2, min_lr=1e-4, warmup_steps=200, weight_decay=3e-4, max_grad_norm=200.0,
             kl_anneal_fraction=0.3, kl_const_fraction=0.0001, kl_min_coefficient=1e-4, kl_balance=True,
             spectral_lambda=1e-2, power_iterations=4)

BN_MOMENTUM = 0.05  # NvaeBatchNorm.Momentum (PyTorch convention)


def nvae_bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=BN_MOMENTUM)


# ------------------------------------------------------------------------------------------------ layers

class DepthwiseConv2dFunction(torch.autograd.Function):
    """Nn/DepthwiseConv2dFunction.cs: stride-1 depthwise conv with the hand-written backward."""

    @staticmethod
    def forward(ctx, x, w, b, p):
        ctx.save_for_backward(x, w)
        ctx.p = p
        ctx.has_bias = b is not None
        return F.conv2d(x, w, b, padding=p, groups=x.shape[1])

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        p = ctx.p
        n, c, k = x.shape[0], x.shape[1], w.shape[2]
        g = grad_output.contiguous()
        grad_x = F.conv2d(g, w.flip(2, 3), padding=k - 1 - p, groups=c)
        ho, wo = g.shape[2], g.shape[3]
        xp = (F.pad(x, [p, p, p, p]) if p > 0 else x).transpose(0, 1)  # [C, N, H+2p, W+2p]
        wp = xp.shape[3]
        g_t = g.transpose(0, 1).reshape(c, n * ho, wo).transpose(1, 2)  # [C, W', N*H']
        rows = []
        for i in range(k):
            xi = xp[:, :, i:i + ho, :].reshape(c, n * ho, wp)
            m = torch.bmm(g_t, xi).contiguous()
            rows.append(m.as_strided((c, k, wo), (wo * wp, 1, wp + 1)).sum(2))
        grad_w = torch.stack(rows, 1).reshape(c, 1, k, k)
        grad_b = g.sum((0, 2, 3)) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None


DEPTHWISE_CUSTOM = True


class WeightNormConv2d(nn.Module):
    """w = exp(log g) * v / (||v|| + 1e-5) per output channel; log g initialised to log(||v|| + 0.01)."""

    def __init__(self, cin, cout, k, stride=1, padding=0, groups=1, bias=True, weight_norm=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=bias)
        self.stride, self.padding, self.groups = stride, padding, groups
        if weight_norm:
            with torch.no_grad():
                self.log_gain = nn.Parameter(torch.log(self._row_norm(self.conv.weight) + 1e-2))
        else:
            self.log_gain = None

    @staticmethod
    def _row_norm(w):
        return w.square().sum((1, 2, 3), keepdim=True).sqrt()

    def weight(self):
        if self.log_gain is None:
            return self.conv.weight
        return self.log_gain.exp() * self.conv.weight / (self._row_norm(self.conv.weight) + 1e-5)

    def forward(self, x):
        if self.log_gain is None:
            return self.conv(x)
        return F.conv2d(x, self.weight(), self.conv.bias, stride=self.stride, padding=self.padding, groups=self.groups)


class SqueezeExcitation(nn.Module):
    def __init__(self, c, reduction=16, min_hidden=4):
        super().__init__()
        hidden = max(c // reduction, min_hidden)
        self.fc1 = nn.Linear(c, hidden)
        self.fc2 = nn.Linear(hidden, c)

    def forward(self, x):
        s = x.mean((2, 3))
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * g.unsqueeze(-1).unsqueeze(-1)


class EncoderResidualCell(nn.Module):
    """BN-Swish-Conv3x3(-stride 2)-BN-Swish-Conv3x3-SE; skip: identity or stride-2 WN-conv1x1; skip + 0.1*branch."""

    def __init__(self, cin, cout, down=False, rs=0.1, wn=False):
        super().__init__()
        self.bn1 = nvae_bn(cin)
        self.conv1 = WeightNormConv2d(cin, cout, 3, stride=2 if down else 1, padding=1, weight_norm=wn)
        self.bn2 = nvae_bn(cout)
        self.conv2 = WeightNormConv2d(cout, cout, 3, padding=1, weight_norm=wn)
        self.se = SqueezeExcitation(cout)
        self.skip = WeightNormConv2d(cin, cout, 1, stride=2, weight_norm=wn) if down else None
        self.scale = rs

    def forward(self, x):
        s = x if self.skip is None else self.skip(x)
        h = self.conv1(F.silu(self.bn1(x)))
        h = self.conv2(F.silu(self.bn2(h)))
        return s + self.scale * self.se(h)


class GeneratorResidualCell(nn.Module):
    """(nearest up x2) BN-Conv1x1(xE)-BN-Swish-DWConv5x5-BN-Swish-Conv1x1-BN-SE; skip: identity or WN-conv1x1."""

    def __init__(self, cin, cout, expansion=6, up=False, rs=0.1, wn=False):
        super().__init__()
        hidden = cin * expansion
        self.bn0 = nvae_bn(cin)
        self.expand = nn.Conv2d(cin, hidden, 1)
        self.bn1 = nvae_bn(hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, 5, padding=2, groups=hidden)
        self.bn2 = nvae_bn(hidden)
        self.project = nn.Conv2d(hidden, cout, 1)
        self.bn3 = nvae_bn(cout)
        self.se = SqueezeExcitation(cout)
        self.skip = WeightNormConv2d(cin, cout, 1, weight_norm=wn) if up else None
        self.up = up
        self.scale = rs

    def forward(self, x):
        if self.up:
            x = F.interpolate(x, scale_factor=(2.0, 2.0), mode="nearest")
        s = x if self.skip is None else self.skip(x)
        h = self.expand(self.bn0(x))
        h = F.silu(self.bn1(h))
        if DEPTHWISE_CUSTOM:
            h = DepthwiseConv2dFunction.apply(h, self.depthwise.weight, self.depthwise.bias, 2)
        else:
            h = self.depthwise(h)
        h = self.project(F.silu(self.bn2(h)))
        return s + self.scale * self.se(self.bn3(h))


# ------------------------------------------------------------------------------------------------ distributions

def soft_clamp(x):
    return torch.tanh(x / 5.0) * 5.0


class DiagonalNormal:
    def __init__(self, mu, sigma):
        self.mu, self.sigma = mu, sigma

    @staticmethod
    def from_params(mu, log_sigma, floor=1e-2):
        return DiagonalNormal(soft_clamp(mu), torch.exp(soft_clamp(log_sigma)) + floor)

    def sample(self, t=1.0):
        return self.mu + self.sigma * torch.randn_like(self.mu) * t

    def log_prob(self, z):
        e = (z - self.mu) / self.sigma
        return -0.5 * e * e - torch.log(self.sigma) - HALF_LOG_2PI

    def kl(self, p):
        r = self.sigma / p.sigma
        d = (self.mu - p.mu) / p.sigma
        return 0.5 * (d * d + r * r) - torch.log(r) - 0.5


def residual_posterior(prior, dmu, dlogsig):
    return DiagonalNormal(prior.mu + dmu, prior.sigma * torch.exp(soft_clamp(dlogsig)))


class DiscretizedLogisticMixture:
    def __init__(self, k=10):
        self.k = k

    def param_channels(self, c):
        return self.k * (1 + 2 * c + (3 if c == 3 else 0))

    def split(self, p, c):
        k, b, h, w = self.k, p.shape[0], p.shape[2], p.shape[3]
        logits = p[:, :k]
        means = p[:, k:k + c * k].reshape(b, c, k, h, w)
        log_scales = p[:, k + c * k:k + 2 * c * k].reshape(b, c, k, h, w).clamp_min(-7.0)
        coeffs = torch.tanh(p[:, k + 2 * c * k:].reshape(b, 3, k, h, w)) if c == 3 else None
        return logits, means, log_scales, coeffs

    @staticmethod
    def coupled_means(means, coeffs, x):
        if coeffs is None:
            return means
        mr = means[:, 0]
        mg = means[:, 1] + coeffs[:, 0] * x[:, 0]
        mb = means[:, 2] + coeffs[:, 1] * x[:, 0] + coeffs[:, 2] * x[:, 1]
        return torch.stack([mr, mg, mb], 1)

    @staticmethod
    def bin_log_prob(x, means, log_scales):
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
        return torch.where(lo, log_cdf_upper, torch.where(hi, log_one_minus_cdf_lower, interior))

    def log_prob(self, params, images):
        c = images.shape[1]
        logits, means, log_scales, coeffs = self.split(params, c)
        x = (images.to(torch.float32) / 127.5 - 1).unsqueeze(2)
        m = self.coupled_means(means, coeffs, x)
        per_comp = self.bin_log_prob(x, m, log_scales).sum(1) + F.log_softmax(logits, 1)
        return torch.logsumexp(per_comp, 1).sum((1, 2))

    @torch.no_grad()
    def mean(self, params):
        """Draw(stochastic: false): the most probable component's mean per pixel, as uint8."""
        k = self.k
        per_k = params.shape[1] // k
        c = 3 if per_k == 10 else (per_k - 1) // 2
        logits, means, log_scales, coeffs = self.split(params, c)
        choice = logits.argmax(1)
        onehot = F.one_hot(choice, k).permute(0, 3, 1, 2).to(means.dtype).unsqueeze(1)
        mu = (means * onehot).sum(2)
        (log_scales * onehot).sum(2)  # Draw selects the scales before it knows it is not sampling (as ours does)
        xs = []
        for ch in range(c):
            m = mu[:, ch]
            if coeffs is not None and ch > 0:
                co = (coeffs * onehot).sum(2)
                m = m + co[:, 0] * xs[0] if ch == 1 else m + co[:, 1] * xs[0] + co[:, 2] * xs[1]
            xs.append(m.clamp(-1, 1))
        return ((torch.stack(xs, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


# ------------------------------------------------------------------------------------------------ model

class LatentGroup(nn.Module):
    def __init__(self, first, width, shape, cfg):
        super().__init__()
        wn, rs = cfg["weight_norm"], cfg["residual_scale"]
        z = shape[0]
        self.shape = shape
        self.residual = cfg["residual_posterior"]
        self.encoder_cells = nn.Sequential(*[EncoderResidualCell(width, width, False, rs, wn)
                                             for _ in range(cfg["encoder_cells_per_group"])])
        if first:
            self.first_combiner = nn.Sequential(nn.ELU(), WeightNormConv2d(width, width, 1, weight_norm=wn), nn.ELU())
            self.decoder_cells = self.prior = self.encoder_combiner = None
        else:
            self.first_combiner = None
            self.decoder_cells = nn.Sequential(*[GeneratorResidualCell(width, width, cfg["expansion"], False, rs, wn)
                                                 for _ in range(cfg["decoder_cells_per_group"])])
            self.prior = nn.Sequential(nn.ELU(), WeightNormConv2d(width, 2 * z, 1, weight_norm=wn))
            self.encoder_combiner = WeightNormConv2d(width, width, 1, weight_norm=wn)
        self.posterior = WeightNormConv2d(width, 2 * z, 3, padding=1, weight_norm=wn)
        self.decoder_combiner = WeightNormConv2d(width + z, width, 1, weight_norm=wn)

    def bottom_up(self, h):
        return self.encoder_cells(h)

    def top_down(self, h, feature, temperature=1.0):
        n = h.shape[0]
        zc, zh, zw = self.shape
        if self.decoder_cells is not None:
            h = self.decoder_cells(h)
        if self.prior is None:
            p = DiagonalNormal(torch.zeros(n, zc, zh, zw, device=h.device), torch.ones(n, zc, zh, zw, device=h.device))
        else:
            pm, ps = self.prior(h).chunk(2, 1)
            p = DiagonalNormal.from_params(pm, ps)
        log_q = None
        if feature is not None:
            f = self.first_combiner(feature) if self.first_combiner is not None else feature + self.encoder_combiner(h)
            qm, qs = self.posterior(f).chunk(2, 1)
            q = residual_posterior(p, qm, qs) if self.residual else DiagonalNormal.from_params(qm, qs)
            z0 = q.sample()
            zl = z0
            lq = q.log_prob(z0)
            kl = q.kl(p)
            log_q = lq.sum((1, 2, 3))
        else:
            zl = p.sample(temperature)
            kl = torch.zeros(n, zc, zh, zw, device=h.device)
        log_p = p.log_prob(zl).sum((1, 2, 3))
        return self.decoder_combiner(torch.cat([h, zl], 1)), zl, kl, log_q, log_p


class Nvae(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        counts = cfg["groups_per_scale"]
        scales, p = len(counts), cfg["preprocess_blocks"]
        rs, wn = cfg["residual_scale"], cfg["weight_norm"]
        self.likelihood = DiscretizedLogisticMixture(cfg["components"])

        def scale_side(s):
            return cfg["image_size"] >> (p + scales - 1 - s)

        def scale_width(s):
            return cfg["stem_channels"] << (p + scales - 1 - s)

        self.stem = WeightNormConv2d(cfg["image_channels"], cfg["stem_channels"], 3, padding=1, weight_norm=wn)
        pre = []
        c = cfg["stem_channels"]
        for _ in range(p):
            for i in range(cfg["preprocess_cells"]):
                down = i == cfg["preprocess_cells"] - 1
                pre.append(EncoderResidualCell(c, 2 * c if down else c, down, rs, wn))
                if down:
                    c *= 2
        self.pre = nn.Sequential(*pre)

        self.group_shapes = [(cfg["latent_channels"], scale_side(s), scale_side(s)) for s, g in enumerate(counts) for _ in range(g)]
        self.group_scale = [s for s, g in enumerate(counts) for _ in range(g)]
        self.groups = nn.ModuleList([LatentGroup(l == 0, scale_width(self.group_scale[l]), shp, cfg)
                                     for l, shp in enumerate(self.group_shapes)])
        self.enc_down = nn.ModuleList([EncoderResidualCell(scale_width(s), scale_width(s - 1), True, rs, wn) for s in range(1, scales)])
        self.dec_up = nn.ModuleList([GeneratorResidualCell(scale_width(s - 1), scale_width(s), cfg["expansion"], True, rs, wn)
                                     for s in range(1, scales)])
        self.prior_feature = nn.Parameter(torch.rand(1, scale_width(0), scale_side(0), scale_side(0)))
        post = []
        c = scale_width(scales - 1)
        for _ in range(p):
            for i in range(cfg["postprocess_cells"]):
                up = i == 0
                post.append(GeneratorResidualCell(c, c // 2 if up else c, cfg["expansion"], up, rs, wn))
                if up:
                    c //= 2
        self.post = nn.Sequential(*post)
        self.output = WeightNormConv2d(c, self.likelihood.param_channels(cfg["image_channels"]), 3, padding=1, weight_norm=wn)

        # KlBalancer.SquareAlpha
        a = [(2.0 ** s) ** 2 / counts[s] for s in range(scales) for _ in range(counts[s])]
        self.register_buffer("alpha", torch.tensor([v / min(a) for v in a], dtype=torch.float32), persistent=False)

    def bottom_up(self, x):
        feats = [None] * len(self.group_shapes)
        h = self.pre(self.stem(x))
        for l in range(len(self.group_shapes) - 1, -1, -1):
            if l < len(self.group_shapes) - 1 and self.group_scale[l] != self.group_scale[l + 1]:
                h = self.enc_down[self.group_scale[l]](h)
            h = self.groups[l].bottom_up(h)
            feats[l] = h
        return feats

    def top_down(self, n, feats, temperature=1.0):
        h = self.prior_feature.expand(n, -1, -1, -1)
        zs, kls, log_q, log_p = [], [], None, None
        for l in range(len(self.group_shapes)):
            if l > 0 and self.group_scale[l] != self.group_scale[l - 1]:
                h = self.dec_up[self.group_scale[l] - 1](h)
            h, z, kl, lq, lp = self.groups[l].top_down(h, None if feats is None else feats[l], temperature)
            zs.append(z)
            kls.append(kl)
            if lq is not None:
                log_q = lq if log_q is None else log_q + lq
            log_p = lp if log_p is None else log_p + lp
        h = self.post(h)
        params = self.output(F.elu(h, 1.0))
        return params, zs, kls, (log_q if log_q is not None else torch.zeros(n, device=h.device)), log_p

    def forward(self, images):
        x = images.to(torch.float32) / 127.5 - 1  # VaeModel.ToInput
        feats = self.bottom_up(x)
        params, zs, kls, log_q, log_p = self.top_down(images.shape[0], feats, 1.0)
        log_px = self.likelihood.log_prob(params, images)
        return params, log_px, kls, log_q, log_p, zs

    def batch_norm_scale_penalty(self):
        maxima = [m.weight.abs().max() for m in self.modules() if isinstance(m, nn.BatchNorm2d) and m.weight is not None]
        return torch.stack(maxima).sum()

    @torch.no_grad()
    def sample_images(self, n, temperature=1.0):
        params, _, _, _, _ = self.top_down(n, None, temperature)
        return self.likelihood.mean(params)


class SpectralRegularizer(nn.Module):
    """sum_i sigma_i over every conv: WN convs through their applied weight, other Conv2d through their weight;
    u, v buffers per layer (seeded generator 1), 40 power iterations at construction, 4 per training step."""

    def __init__(self, parts, initial_iterations=40, seed=1):
        super().__init__()
        all_modules = []
        seen = set()
        for part in parts:
            for m in part.modules():
                if id(m) not in seen:
                    seen.add(id(m))
                    all_modules.append(m)
        normalized = [m for m in all_modules if isinstance(m, WeightNormConv2d)]
        inner = {id(w.conv) for w in normalized}
        self._weights = [w.weight for w in normalized] + \
                        [(lambda c=c: c.weight) for c in all_modules if isinstance(c, nn.Conv2d) and id(c) not in inner]
        g = torch.Generator().manual_seed(seed)
        self.us, self.vs = [], []
        with torch.no_grad():
            for i, wf in enumerate(self._weights):
                w = wf()
                u = F.normalize(torch.randn(w.shape[0], generator=g), dim=0)
                v = F.normalize(torch.randn(w.numel() // w.shape[0], generator=g), dim=0)
                self.register_buffer("u%d" % i, u)
                self.register_buffer("v%d" % i, v)
                self.us.append(u)
                self.vs.append(v)
            for i, wf in enumerate(self._weights):
                self._sigma(i, wf(), initial_iterations)

    def _sigma(self, i, weight, iterations):
        u, v = self.us[i], self.vs[i]
        w = weight.reshape(weight.shape[0], -1)
        with torch.no_grad():
            wd = w.detach()
            for _ in range(iterations):
                vn = F.normalize(torch.matmul(wd.t(), u), dim=0, eps=1e-12)
                un = F.normalize(torch.matmul(wd, vn), dim=0, eps=1e-12)
                v.copy_(vn)
                u.copy_(un)
        return torch.dot(u, torch.matmul(w, v))

    def sum_of_sigmas(self, iterations=4):
        return torch.stack([self._sigma(i, wf(), iterations) for i, wf in enumerate(self._weights)]).sum()


# ------------------------------------------------------------------------------------------------ trainer

def warmup_cosine(step, lr, warmup, total, floor):
    warmup = max(0, warmup)
    if step < warmup:
        return lr * min(1.0, (step + 1) / float(warmup)) if warmup > 0 else lr
    t = min(1.0, (step - warmup) / float(max(1, total - warmup)))
    return floor + 0.5 * (lr - floor) * (1 + math.cos(math.pi * t))


def warmup_coefficient(step, anneal, const, minimum):
    if anneal <= 0:
        return 1.0
    return max(min((step - const) / float(anneal), 1.0), minimum)


def kl_beta(step, t=TRAIN):
    """NvaeTrainer's KL warm-up coefficient beta for a 0-based step."""
    return warmup_coefficient(step, int(t["kl_anneal_fraction"] * t["steps"]), int(t["kl_const_fraction"] * t["steps"]),
                              t["kl_min_coefficient"])


def balanced_kl(kls, beta, alpha, balance=True):
    """beta * sum_l gamma_l KL_l per sample (KlBalancer.Balance / Coefficients; gamma = 1 once beta reaches 1)."""
    kl_g = torch.stack([k.sum((1, 2, 3)) for k in kls], 1)  # VaeOutput.KlPerGroup [B, L]
    if balance and beta < 1.0:
        with torch.no_grad():
            c = kl_g.detach().abs().mean(0) + 0.01
            c = c / alpha
            gamma = c / c.mean()
    else:
        gamma = torch.ones(kl_g.shape[1])
    return beta * (kl_g * gamma.unsqueeze(0)).sum(1)


class NvaeBench:
    def __init__(self, args):
        self.model = Nvae(SMALL)
        m = self.model
        parts = [m.stem, m.pre, m.post, m.output] + list(m.groups) + list(m.enc_down) + list(m.dec_up)
        self.spectral = SpectralRegularizer(parts)
        self.parameters = list(m.parameters())
        t = TRAIN
        self.opt = torch.optim.Adamax(self.parameters, lr=t["lr"], betas=(0.9, 0.999), eps=1e-3, weight_decay=t["weight_decay"])
        self.images = fashion_batch(args)  # uint8 [B, 1, 28, 28]; the model takes uint8 (ToInput inside)
        self.step_no = 0

    def params(self):
        return trainable_params(self.model)

    def _loss(self, beta, lam):
        t = TRAIN
        params, log_px, kls, log_q, log_p, zs = self.model(self.images)
        loss = (-log_px + balanced_kl(kls, beta, self.model.alpha, t["kl_balance"])).mean()
        if lam > 0:
            s = self.spectral.sum_of_sigmas(t["power_iterations"])
            s.item()  # sr = s.item<float>() in the trainer's closure
            loss = loss + lam * s
            if SMALL["batch_norm_penalty"]:
                loss = loss + lam * self.model.batch_norm_scale_penalty()
        return loss

    def step(self):
        t = TRAIN
        step = self.step_no
        lr = warmup_cosine(step, t["lr"], t["warmup_steps"], t["steps"], t["min_lr"])
        for g in self.opt.param_groups:
            g["lr"] = lr
        beta = kl_beta(step)
        lam = t["spectral_lambda"]  # SpectralLambdaInit is null: constant lambda
        self.model.train()
        optimizer_step(self.opt, self.parameters, lambda: self._loss(beta, lam), t["max_grad_norm"], step)  # TrainStep.Run
        self.step_no = step + 1

    def sample(self, n):
        # NvaeFamily.Sample: EvalMode.Run(model, () => model.SampleImages(n, 1.0)) -> mixture mode per pixel
        was = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                self.model.sample_images(n, 1.0)
        finally:
            self.model.train(was)

    def forward_for_flops(self):
        self.model.train()
        with torch.no_grad():
            self._loss(kl_beta(self.step_no), TRAIN["spectral_lambda"])


def build(args):
    global DEPTHWISE_CUSTOM
    DEPTHWISE_CUSTOM = getattr(args, "depthwise", "custom") != "native"
    return NvaeBench(args)


def _argv_with_depthwise():
    """Strips the optional ``--depthwise custom|native`` flag (not part of the shared protocol) before common parses."""
    argv = list(sys.argv[1:])
    mode = "custom"
    if "--depthwise" in argv:
        i = argv.index("--depthwise")
        mode = argv[i + 1]
        if mode not in ("custom", "native"):
            raise SystemExit("--depthwise must be custom or native")
        del argv[i:i + 2]
    return argv, mode


if __name__ == "__main__":
    _argv, _mode = _argv_with_depthwise()

    def _build(args):
        args.depthwise = _mode
        return build(args)

    run_worker(_build, _argv)

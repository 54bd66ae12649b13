"""PyTorch replica of our DDPM Small (src/Workbench/Diffusion, DiffusionConfig.Small) and one DiffusionTrainer step.

DiffusionConfig.Small on 1x28x28: T = 1000, beta linear 1e-4 -> 0.02, sigma_t^2 = beta_t (Large, with sigma_1^2 =
beta~_2); a U-Net of 32 base channels, multipliers (1, 2, 2) over 28 -> 14 -> 7, one residual block per resolution
down (two up), self-attention at 7x7, dropout 0, GroupNorm with 8 groups (largest divisor of the width <= 8).
Time embedding: sinusoids of width 32 ([sin, cos], w_i = 10000^(-i/15)) -> Linear(32, 128) -> SiLU -> Linear(128, 128).
Residual block: h = conv3x3(SiLU(GN(x))) + Linear(SiLU(temb))[:, :, None, None]; h = conv3x3(Dropout(SiLU(GN(h))))
(zero-initialised); out = skip(x) + h, skip a conv1x1 when the width changes. Attention: h = GN(x); q, k, v 1x1
convs; w = softmax(q^T k / sqrt(C)) over the HW positions; out = x + conv1x1(v w^T) (zero-initialised).
Down: stem conv3x3 1->32; [res 32->32] down conv3x3/2; [res 32->64] down; [res 64->64, attn]; middle res-attn-res;
up: per level two res blocks on cat(h, skip) (each followed by attention at 7x7), then nearest x2 to the skip's size
and conv3x3; out GN -> SiLU -> conv3x3 32->1 (zero-initialised).
Step (DiffusionTrainer.TrainStepOn with DiffusionTrainConfig.Small): x0 = x/127.5 - 1; t ~ U{0..T-1}, eps ~ N(0, I);
x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (coefficients formed in float64, gathered, cast to float32);
L_simple = batch mean of the per-example mean of (eps_theta(x_t, t) - eps)^2; Adam(5e-4) with linear warm-up over
100 steps, zero_grad, loss, item() (divergence above 100), backward, clip_grad_norm_(1), step; then the EMA
(decay 0.995) of every parameter into the sampling copy. Sampling from the EMA copy in eval mode, x_T ~ N(0, I):
default DDIM (50 steps evenly spaced over 0..999, eta 0, x^_0 clipped to [-1, 1] and eps recomputed from it), or
"ancestral": DDPM's Algorithm 2 over all 1000 steps with x^_0 clipped (posterior mean), noise at every step but
the last; to uint8 as round((x + 1) 127.5) clamped. Protocol: bench/README.md (common.py).
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import fashion_batch, optimizer_step, run_worker, trainable_params

# DiffusionConfig.Small
CHANNELS, MULT, RES_BLOCKS, ATTN_SIDES, DROPOUT, GROUPS, IMAGE, IN_CH = 32, (1, 2, 2), 1, (7,), 0.0, 8, 28, 1
T, BETA_START, BETA_END = 1000, 1e-4, 0.02
# DiffusionTrainConfig.Small (LogEvery = 0 on our side: no log rows)
LR, WARMUP, MAX_GRAD_NORM, EMA_DECAY, DIVERGE = 5e-4, 100, 1.0, 0.995, 100.0
DDIM_STEPS, DDIM_ETA = 50, 0.0


def groups_for(channels, groups=GROUPS):
    g = min(groups, channels)
    while channels % g:
        g -= 1
    return g


def norm(channels):
    return nn.GroupNorm(groups_for(channels), channels)


class TimeEmbedding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.fc0 = nn.Linear(dim, 4 * dim)
        self.fc1 = nn.Linear(4 * dim, 4 * dim)

    def forward(self, t):
        half = self.dim // 2
        w = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / (half - 1)))
        a = t.float()[:, None] * w[None, :]
        return self.fc1(F.silu(self.fc0(torch.cat([a.sin(), a.cos()], dim=1))))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.gn0 = norm(cin)
        self.c0 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb, cout)
        self.gn1 = norm(cout)
        self.drop = nn.Dropout(DROPOUT)
        self.c1 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c1.weight)
        nn.init.zeros_(self.c1.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.c0(F.silu(self.gn0(x))) + self.temb(F.silu(e))[:, :, None, None]
        h = self.c1(self.drop(F.silu(self.gn1(h))))
        return (x if self.skip is None else self.skip(x)) + h


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gn = norm(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.out = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        b, c, hh, ww = x.shape
        h = self.gn(x)
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)       # [B, N, C]
        k = self.k(h).reshape(b, c, hh * ww)                       # [B, C, N]
        w = torch.softmax(torch.bmm(q, k) / math.sqrt(c), dim=2)   # [B, N, N]
        v = self.v(h).reshape(b, c, hh * ww)                       # [B, C, N]
        return x + self.out(torch.bmm(v, w.transpose(1, 2)).reshape(b, c, hh, ww))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        ch = CHANNELS
        self.temb = TimeEmbedding(ch)
        e = 4 * ch
        self.stem = nn.Conv2d(IN_CH, ch, 3, padding=1)
        # the down path as (kind, module) units; each unit's output is a skip
        self.down = nn.ModuleList()
        self.down_kinds = []
        skips, cur, side = [ch], ch, IMAGE
        for level, m in enumerate(MULT):
            for _ in range(RES_BLOCKS):
                mods = [ResBlock(cur, ch * m, e)]
                cur = ch * m
                if side in ATTN_SIDES:
                    mods.append(Attention(cur))
                self.down.append(nn.ModuleList(mods))
                self.down_kinds.append("res")
                skips.append(cur)
            if level < len(MULT) - 1:
                self.down.append(nn.Conv2d(cur, cur, 3, stride=2, padding=1))
                self.down_kinds.append("down")
                skips.append(cur)
                side = (side + 1) // 2
        self.mid0 = ResBlock(cur, cur, e)
        self.mid_attn = Attention(cur)
        self.mid1 = ResBlock(cur, cur, e)
        self.up = nn.ModuleList()
        self.up_kinds = []
        for level in range(len(MULT) - 1, -1, -1):
            for _ in range(RES_BLOCKS + 1):
                mods = [ResBlock(cur + skips.pop(), ch * MULT[level], e)]
                cur = ch * MULT[level]
                if side in ATTN_SIDES:
                    mods.append(Attention(cur))
                self.up.append(nn.ModuleList(mods))
                self.up_kinds.append("res")
            if level > 0:
                self.up.append(nn.Conv2d(cur, cur, 3, padding=1))
                self.up_kinds.append("up")
                side *= 2
        self.gn_out = norm(cur)
        self.c_out = nn.Conv2d(cur, IN_CH, 3, padding=1)
        nn.init.zeros_(self.c_out.weight)
        nn.init.zeros_(self.c_out.bias)

    @staticmethod
    def _unit(mods, h, e):
        h = mods[0](h, e)
        for a in mods[1:]:
            h = a(h)
        return h

    def forward(self, x, t):
        e = self.temb(t)
        h = self.stem(x)
        skips = [h]
        for kind, mod in zip(self.down_kinds, self.down):
            h = self._unit(mod, h, e) if kind == "res" else mod(h)
            skips.append(h)
        h = self.mid1(self.mid_attn(self.mid0(h, e)), e)
        for kind, mod in zip(self.up_kinds, self.up):
            if kind == "res":
                h = self._unit(mod, torch.cat([h, skips.pop()], dim=1), e)
            else:
                h = mod(F.interpolate(h, size=skips[-1].shape[2:], mode="nearest"))
        return self.c_out(F.silu(self.gn_out(h)))


class Schedule:
    """The forward process's coefficients in float64 (ForwardProcess.cs), gathered per batch and cast to float32."""

    def __init__(self):
        betas = torch.linspace(BETA_START, BETA_END, T, dtype=torch.float64)
        alphas = 1 - betas
        abar = torch.cumprod(alphas, 0)
        abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        post_var = betas * (1 - abar_prev) / (1 - abar)
        self.abar = abar
        self.sqrt_abar = abar.sqrt()
        self.sqrt_1m_abar = (1 - abar).sqrt()
        self.sqrt_recip_abar = (1 / abar).sqrt()
        self.sqrt_recipm1_abar = (1 / abar - 1).sqrt()
        self.coef_x0 = betas * abar_prev.sqrt() / (1 - abar)
        self.coef_xt = (1 - abar_prev) * alphas.sqrt() / (1 - abar)
        var = betas.clone()                   # ReverseVariance.Large: beta_t, the first step beta~_2
        var[0] = post_var[1]
        self.var = var

    @staticmethod
    def at(values, t, like):
        return values.index_select(0, t).to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0, t, noise):
        return self.at(self.sqrt_abar, t, x0) * x0 + self.at(self.sqrt_1m_abar, t, x0) * noise

    def x0_from_eps(self, xt, t, eps):
        return self.at(self.sqrt_recip_abar, t, xt) * xt - self.at(self.sqrt_recipm1_abar, t, xt) * eps

    def eps_from_x0(self, xt, t, x0):
        return (self.at(self.sqrt_recip_abar, t, xt) * xt - x0) / self.at(self.sqrt_recipm1_abar, t, xt)


def ddim_timesteps(total, steps):
    if steps >= total:
        return list(range(total))
    seq = []
    for i in range(steps):
        v = int(round(i * (total - 1) / max(steps - 1, 1)))
        if v not in seq:
            seq.append(v)
    return seq


class DiffusionWorker:
    def __init__(self, args):
        self.model = UNet()
        self.ema = copy.deepcopy(self.model)
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.ema_pairs = list(zip(self.model.parameters(), self.ema.parameters()))
        self.params_list = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(self.params_list, lr=LR)
        self.q = Schedule()
        self.images = fashion_batch(args)
        self.step_index = 0

    def params(self):
        return trainable_params(self.model)

    def _loss(self):
        x0 = self.images.float() / 127.5 - 1
        t = torch.randint(0, T, (x0.shape[0],))
        noise = torch.randn_like(x0)
        d = self.model(self.q.q_sample(x0, t, noise), t) - noise
        return (d * d).flatten(1).mean(1).mean()

    def step(self):
        for g in self.opt.param_groups:
            g["lr"] = LR * min(1.0, (self.step_index + 1) / WARMUP)
        self.model.train()
        optimizer_step(self.opt, self.params_list, self._loss, MAX_GRAD_NORM, self.step_index, DIVERGE)
        with torch.no_grad():
            for src, dst in self.ema_pairs:
                dst.mul_(EMA_DECAY).add_(src, alpha=1 - EMA_DECAY)
        self.step_index += 1

    def _ddim(self, x):
        seq = ddim_timesteps(T, DDIM_STEPS)
        q = self.q
        for i in range(len(seq) - 1, -1, -1):
            t = torch.full((x.shape[0],), seq[i], dtype=torch.long)
            eps = self.ema(x, t)
            x0 = q.x0_from_eps(x, t, eps).clamp(-1, 1)
            eps = q.eps_from_x0(x, t, x0)
            ab = q.abar[seq[i]].item()
            ab_prev = q.abar[seq[i - 1]].item() if i > 0 else 1.0
            sigma = DDIM_ETA * math.sqrt((1 - ab_prev) / (1 - ab)) * math.sqrt(1 - ab / ab_prev)
            nxt = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma * sigma, 0.0)) * eps
            if sigma > 0:
                nxt = nxt + sigma * torch.randn_like(x)
            x = nxt
        return x

    def _ancestral(self, x):
        q = self.q
        for step in range(T - 1, -1, -1):
            t = torch.full((x.shape[0],), step, dtype=torch.long)
            x0 = q.x0_from_eps(x, t, self.ema(x, t)).clamp(-1, 1)
            mean = q.at(q.coef_x0, t, x) * x0 + q.at(q.coef_xt, t, x) * x
            x = mean + q.at(q.var, t, x).sqrt() * torch.randn_like(x) if step > 0 else mean
        return x

    def sample(self, n, mode=None):
        if mode not in (None, "ancestral"):
            raise ValueError("no sampler '%s' in this family (its named samplers: ancestral)" % mode)
        self.ema.eval()
        try:
            with torch.no_grad():
                x = torch.randn(n, IN_CH, IMAGE, IMAGE)
                x = self._ancestral(x) if mode == "ancestral" else self._ddim(x)
                ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        finally:
            self.ema.train()

    def forward_for_flops(self):
        self.model.train()
        self._loss()


if __name__ == "__main__":
    run_worker(DiffusionWorker)

"""PyTorch 1.13 replica of our StyleGAN2 (StyleGan2Config.Small) and one StyleGan2Trainer iteration without lazy
regularisation (no R1 step, no path-length step), for the paired speed benchmark.

Specification: src/Workbench/StyleGan2/ (StyleGan2Config.cs, MappingNetwork.cs, ModulatedConv2d.cs,
NoiseInjection.cs, ConstantInput.cs, SynthesisLayer.cs, SynthesisBlock.cs, SynthesisNetwork.cs, ToRgb.cs,
StyleGan2Generator.cs, DiscriminatorBlock.cs, DiscriminatorEpilogue.cs, StyleGan2Discriminator.cs,
NonSaturatingLoss.cs, LazyRegularization.cs, StyleGan2Trainer.cs) and src/Workbench/Nn/ (EqualizedLinear.cs,
EqualizedConv2d.cs, FirFilter.cs, Upfirdn2d.cs, MinibatchStdDev.cs, ScaledLeakyRelu.cs), Training/Ema.cs.

Small preset: 32x32 (3 channels: the shared batch is uint8 (B, 3, 32, 32), see common.py), z = w = 128, 4 mapping
layers (lr mul 0.01), feature maps 64/64/32/16 at 4/8/16/32, demodulation on, NON-fused modulated convolutions
(conv of s-scaled inputs with the shared weight, then the demodulation factor; the up layers are a stride-2
transposed conv + [1,3,3,1] FIR blur, gain 4), skip generator (FIR-upsampled image + tRGB per block), residual
discriminator (FIR blur + stride-2 conv for downsampling, 1/sqrt(2) residual scale), minibatch std (group 4, 1
feature), equalised learning rate everywhere, leaky ReLU 0.2 with gain sqrt(2).

One iteration as StyleGan2Trainer.TrainStepOn does it (its order: G step first, then EMA, then D step):
  G: D frozen; z -> w (w_avg updated), style mixing with p = 0.9 (two draws of torch.rand(2): decision and
     crossover; second z mapped), synthesis with fresh noise, softplus(-D(G)) mean, loss.item() finite check,
     backward, Adam step.
  EMA of G into G_ema, beta = 0.5^(B / min(10 kimg, 0.05 * images seen)) (parameters lerped, buffers copied).
  D: reals = x / 127.5 - 1; fakes from G under no_grad (mixing, no w_avg update); softplus(D(fake)) mean +
     softplus(-D(real)) mean, item() check, backward, Adam step.
Lazy regularisation is off (R1Interval = PathLengthInterval = 0), so both Adams run at lr 0.002, betas (0, 0.99),
eps 1e-8 (LazyRegularization's correction is the identity for interval 0). The trainer's per-step log row (four
item() calls on the D logits) is part of TrainStepOn and stays in, as in the C# worker (bench/Workbench.Bench).
Sampling (the C# worker's: GEma.Sample(n, 1.0) then Preprocess.FromSigned): G_ema in eval mode, unseeded z, no
truncation, constant noise, to uint8.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import run_worker, trainable_params, uint8_batch  # noqa: E402

SQRT2 = math.sqrt(2.0)


class Config:
    """StyleGan2Config.Small (+ the benchmark's settings: ImageChannels 3, BatchSize = --batch, no lazy reg.)."""
    resolution = 32
    image_channels = 3
    z_dim = 128
    w_dim = 128
    mapping_layers = 4
    mapping_lr_mul = 0.01
    w_avg_decay = 0.995
    channel_base = 512
    channel_max = 64
    channel_multiplier = 1.0
    demodulate = True
    fused_modconv = False
    mbstd_group_size = 4
    mbstd_features = 1
    r1_interval = 0
    path_length_interval = 0
    mixing_probability = 0.9
    learning_rate = 0.002
    beta1 = 0.0
    beta2 = 0.99
    adam_eps = 1e-8
    batch_size = 16
    ema_half_life_kimg = 10.0
    ema_rampup = 0.05

    @property
    def log2_resolution(self):
        return int(round(math.log2(self.resolution)))

    @property
    def num_ws(self):
        return 2 * self.log2_resolution - 2

    def channels(self, res):
        return max(1, int(round(min(self.channel_base // res, self.channel_max) * self.channel_multiplier)))


# ------------------------------------------------------------------------------------------------ Nn helpers

def scaled_leaky_relu(x):
    return F.leaky_relu(x, 0.2) * SQRT2


def fir_filter(taps=(1.0, 3.0, 3.0, 1.0)):
    s = sum(taps)
    a = torch.tensor([t / s for t in taps], dtype=torch.float32)
    return torch.outer(a, a)


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Nn/Upfirdn2d.Apply: zero insertion, pad/crop, depthwise conv with the flipped filter, keep every down-th."""
    n, c, h, w = x.shape
    y = x
    if up > 1:
        y = y.reshape(n, c, h, 1, w, 1)
        y = F.pad(y, [0, up - 1, 0, 0, 0, up - 1])
        y = y.reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    y = F.pad(y, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    hh, ww = y.shape[2], y.shape[3]
    y = y[:, :, max(-y0, 0):hh - max(-y1, 0), max(-x0, 0):ww - max(-x1, 0)]
    ff = (f.flip(0, 1) * gain).to(x.dtype)
    weight = ff[None, None].expand(c, 1, ff.shape[0], ff.shape[1]).contiguous()
    y = F.conv2d(y, weight, groups=c)
    if down > 1:
        y = y[:, :, ::down, ::down]
    return y


def upsample2d(x, f, factor=2):
    fw = f.shape[-1]
    p0, p1 = (fw + factor - 1) // 2, (fw - factor) // 2
    return upfirdn2d(x, f, up=factor, pad=(p0, p1, p0, p1), gain=factor * factor)


class EqualizedLinear(nn.Module):
    def __init__(self, fin, fout, bias=True, lr_mul=1.0, bias_init=0.0):
        super().__init__()
        self.lr_mul = lr_mul
        self.gain = lr_mul / math.sqrt(fin)
        self.weight = nn.Parameter(torch.randn(fout, fin) / lr_mul)
        self.bias = nn.Parameter(torch.full((fout,), bias_init / lr_mul)) if bias else None

    def forward(self, x):
        b = None if self.bias is None else self.bias * self.lr_mul
        return F.linear(x, self.weight * self.gain, b)


class EqualizedConv2d(nn.Module):
    def __init__(self, cin, cout, k, bias=True, down=False):
        super().__init__()
        self.k = k
        self.down = down
        self.gain = 1.0 / math.sqrt(cin * k * k)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        if down:
            self.register_buffer("fir", fir_filter())

    def forward(self, x):
        w = self.weight * self.gain
        if not self.down:
            return F.conv2d(x, w, self.bias, padding=self.k // 2)
        fw = self.fir.shape[-1]
        p = (fw - 2) + (self.k - 1)
        p0, p1 = (p + 1) // 2, p // 2
        blurred = upfirdn2d(x, self.fir, pad=(p0, p1, p0, p1))
        return F.conv2d(blurred, w, self.bias, stride=2)


def minibatch_stddev(x, group_size=4, features=1):
    n, c, h, w = x.shape
    g = min(group_size, n)
    if n % g != 0:
        g = n
    f = features
    y = x.reshape(g, n // g, f, c // f, h, w)
    y = y - y.mean(0)
    y = (y.square().mean(0) + 1e-8).sqrt()
    y = y.mean((2, 3, 4))
    y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], 1)


# ------------------------------------------------------------------------------------------------ generator

class MappingNetwork(nn.Module):
    def __init__(self, z_dim, w_dim, layers, lr_mul, decay):
        super().__init__()
        self.w_dim = w_dim
        self.decay = decay
        self.fc = nn.ModuleList([EqualizedLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul) for i in range(layers)])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z):
        x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        for layer in self.fc:
            x = scaled_leaky_relu(layer(x))
        return x

    @torch.no_grad()
    def update_w_avg(self, w):
        m = w.detach().reshape(-1, self.w_dim).mean(0)
        self.w_avg.copy_(m + (self.w_avg - m) * self.decay)


class ModulatedConv2d(nn.Module):
    def __init__(self, cin, cout, k, w_dim, demodulate=True, up=1, fused=True):
        super().__init__()
        self.cin, self.cout, self.k = cin, cout, k
        self.demodulate, self.up, self.fused = demodulate, up, fused
        self.gain = 1.0 / math.sqrt(cin * k * k)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.affine = EqualizedLinear(w_dim, cin, bias=True, bias_init=1.0)
        if up > 1:
            self.register_buffer("fir", fir_filter())

    def forward(self, x, w):
        styles = self.affine(w)
        return self._fused(x, styles) if self.fused else self._unfused(x, styles)

    def _up(self, y):
        fw = self.fir.shape[-1]
        p = (fw - 2) - (self.k - 1)
        p0, p1 = (p + 1) // 2 + 1, p // 2 + 1
        return upfirdn2d(y, self.fir, pad=(p0, p1, p0, p1), gain=4)

    def _unfused(self, x, styles):
        wgt = self.weight * self.gain
        xs = x * styles[:, :, None, None]
        if self.up == 1:
            y = F.conv2d(xs, wgt, padding=self.k // 2)
        else:
            y = self._up(F.conv_transpose2d(xs, wgt.transpose(0, 1), stride=2))
        if self.demodulate:
            d = (styles.square().matmul(wgt.square().sum((2, 3)).t()) + 1e-8).rsqrt()
            y = y * d[:, :, None, None]
        return y

    def _fused(self, x, styles):  # not used by the Small preset (FusedModconv = false); kept for completeness
        n, _, h, wd = x.shape
        wgt = (self.weight * self.gain)[None] * styles[:, None, :, None, None]
        if self.demodulate:
            d = (wgt.square().sum((2, 3, 4)) + 1e-8).rsqrt()
            wgt = wgt * d[:, :, None, None, None]
        xs = x.reshape(1, n * self.cin, h, wd)
        if self.up == 1:
            y = F.conv2d(xs, wgt.reshape(n * self.cout, self.cin, self.k, self.k), padding=self.k // 2, groups=n)
        else:
            wt = wgt.transpose(1, 2).reshape(n * self.cin, self.cout, self.k, self.k)
            y = self._up(F.conv_transpose2d(xs, wt, stride=2, groups=n))
        return y.reshape(n, self.cout, y.shape[2], y.shape[3])


class NoiseInjection(nn.Module):
    def __init__(self, resolution):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(1))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))

    def forward(self, x, mode="random"):
        if mode == "none":
            return x
        n, _, h, w = x.shape
        noise = torch.randn(n, 1, h, w, dtype=x.dtype) if mode == "random" else self.noise_const[None, None]
        return x + noise * self.strength


class SynthesisLayer(nn.Module):
    def __init__(self, cin, cout, w_dim, resolution, up=False, demodulate=True, k=3, fused=True):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, k, w_dim, demodulate, up=2 if up else 1, fused=fused)
        self.noise = NoiseInjection(resolution)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x, w, mode="random"):
        y = self.conv(x, w)
        y = self.noise(y, mode)
        return scaled_leaky_relu(y + self.bias[None, :, None, None])


class ToRgb(nn.Module):
    def __init__(self, cin, image_channels, w_dim, fused=True):
        super().__init__()
        self.conv = ModulatedConv2d(cin, image_channels, 1, w_dim, demodulate=False, fused=fused)
        self.bias = nn.Parameter(torch.zeros(image_channels))

    def forward(self, x, w):
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisBlock(nn.Module):
    def __init__(self, cin, cout, w_dim, resolution, image_channels, demodulate, fused=True):
        super().__init__()
        if resolution == 4:
            self.constant = nn.Parameter(torch.randn(cout, 4, 4))  # ConstantInput
            self.conv0 = None
        else:
            self.constant = None
            self.conv0 = SynthesisLayer(cin, cout, w_dim, resolution, up=True, demodulate=demodulate, fused=fused)
        self.conv1 = SynthesisLayer(cout, cout, w_dim, resolution, demodulate=demodulate, fused=fused)
        self.torgb = ToRgb(cout, image_channels, w_dim, fused)
        self.register_buffer("fir", fir_filter(), persistent=False)
        self.num_conv = 1 if resolution == 4 else 2

    def forward(self, x, img, ws, mode):
        i = 0
        if self.constant is not None:
            h = self.constant[None].expand(ws.shape[0], -1, -1, -1)
        else:
            h = self.conv0(x, ws[:, i], mode)
            i += 1
        h = self.conv1(h, ws[:, i], mode)
        i += 1
        rgb = self.torgb(h, ws[:, i])
        new_img = rgb if img is None else upsample2d(img, self.fir) + rgb
        return h, new_img


class SynthesisNetwork(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        blocks = []
        res = 4
        while res <= cfg.resolution:
            cin = 0 if res == 4 else cfg.channels(res // 2)
            blocks.append(SynthesisBlock(cin, cfg.channels(res), cfg.w_dim, res, cfg.image_channels, cfg.demodulate,
                                         cfg.fused_modconv))
            res *= 2
        self.blocks = nn.ModuleList(blocks)

    def forward(self, ws, mode="random"):
        x = img = None
        index = 0
        for block in self.blocks:
            block_ws = ws.narrow(1, index, block.num_conv + 1)
            x, img = block(x, img, block_ws, mode)
            index += block.num_conv
        return img


class StyleGan2Generator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.num_ws = cfg.num_ws
        self.mapping = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.mapping_layers, cfg.mapping_lr_mul, cfg.w_avg_decay)
        self.synthesis = SynthesisNetwork(cfg)

    def map_to_w(self, z, update_w_avg=False):
        w = self.mapping(z)
        if update_w_avg:
            self.mapping.update_w_avg(w)
        return w[:, None].expand(-1, self.num_ws, -1)

    def synthesize(self, ws, mode="random"):
        return self.synthesis(ws, mode)

    @staticmethod
    def mix_styles(ws1, ws2, crossover):
        if crossover <= 0:
            return ws2
        if crossover >= ws1.shape[1]:
            return ws1
        return torch.cat([ws1[:, :crossover], ws2[:, crossover:]], 1)

    def sample(self, n, seed=None):
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                g = None if seed is None else torch.Generator().manual_seed(seed)
                z = torch.randn(n, self.cfg.z_dim, generator=g)
                return self.synthesize(self.map_to_w(z), "const")  # psi = 1: no truncation
        finally:
            self.train(was)


# ------------------------------------------------------------------------------------------------ discriminator

class DiscriminatorBlock(nn.Module):
    def __init__(self, cin, cout, image_channels=0):
        super().__init__()
        self.fromrgb = EqualizedConv2d(image_channels, cin, 1) if image_channels > 0 else None
        self.conv0 = EqualizedConv2d(cin, cin, 3)
        self.conv1 = EqualizedConv2d(cin, cout, 3, down=True)
        self.skip = EqualizedConv2d(cin, cout, 1, bias=False, down=True)

    def forward(self, x):
        if self.fromrgb is not None:
            x = scaled_leaky_relu(self.fromrgb(x))
        y = self.skip(x)
        h = scaled_leaky_relu(self.conv0(x))
        h = scaled_leaky_relu(self.conv1(h))
        return (y + h) * (1.0 / math.sqrt(2.0))


class DiscriminatorEpilogue(nn.Module):
    def __init__(self, c, group_size=4, features=1):
        super().__init__()
        self.group_size, self.features = group_size, features
        self.conv = EqualizedConv2d(c + features, c, 3)
        self.fc = EqualizedLinear(c * 16, c)
        self.output = EqualizedLinear(c, 1)

    def forward(self, x):
        h = minibatch_stddev(x, self.group_size, self.features)
        h = scaled_leaky_relu(self.conv(h))
        h = scaled_leaky_relu(self.fc(h.flatten(1)))
        return self.output(h).squeeze(1)


class StyleGan2Discriminator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        blocks = []
        res = cfg.resolution
        while res > 4:
            blocks.append(DiscriminatorBlock(cfg.channels(res), cfg.channels(res // 2),
                                             cfg.image_channels if res == cfg.resolution else 0))
            res //= 2
        self.blocks = nn.ModuleList(blocks)
        self.epilogue = DiscriminatorEpilogue(cfg.channels(4), cfg.mbstd_group_size, cfg.mbstd_features)

    def forward(self, img):
        x = img
        for b in self.blocks:
            x = b(x)
        return self.epilogue(x)


# ------------------------------------------------------------------------------------------------ trainer

def lazy_adam(params, cfg, interval):
    c = interval / (interval + 1.0) if interval > 0 else 1.0
    return torch.optim.Adam(params, lr=cfg.learning_rate * c, betas=(cfg.beta1 ** c, cfg.beta2 ** c), eps=cfg.adam_eps)


def beta_from_half_life(batch, half_life_images, images_seen=None, rampup=None):
    if images_seen is not None and rampup is not None:
        half_life_images = min(half_life_images, max(0, images_seen) * rampup)
    return 0.0 if half_life_images == 0 else 0.5 ** (batch / half_life_images)


class StyleGan2Bench:
    def __init__(self, args):
        cfg = Config()
        cfg.batch_size = args.batch
        self.cfg = cfg
        self.G = StyleGan2Generator(cfg)
        self.D = StyleGan2Discriminator(cfg)
        self.G_ema = StyleGan2Generator(cfg)  # built like G (draws from the global generator), then set to G
        self.ema_params = list(zip(dict(self.G.named_parameters()).values(),
                                   [dict(self.G_ema.named_parameters())[k] for k in dict(self.G.named_parameters())]))
        gb, eb = dict(self.G.named_buffers()), dict(self.G_ema.named_buffers())
        self.ema_buffers = [(gb[k], eb[k]) for k in gb]
        for _, s in self.ema_params:
            s.requires_grad_(False)
        self._ema_update(0.0)
        self.G_ema.eval()
        self.g_opt = lazy_adam(self.G.parameters(), cfg, cfg.path_length_interval)
        self.d_opt = lazy_adam(self.D.parameters(), cfg, cfg.r1_interval)
        self.images = uint8_batch(args, (cfg.image_channels, cfg.resolution, cfg.resolution))
        self.images_seen = 0
        self.step_no = 0

    def params(self):
        return trainable_params(self.G, self.D)

    @torch.no_grad()
    def _ema_update(self, beta):
        for src, dst in self.ema_params:
            if beta == 0:
                dst.copy_(src)
            elif beta != 1:
                dst.mul_(beta).add_(src.detach(), alpha=1 - beta)
        for src, dst in self.ema_buffers:
            dst.copy_(src)

    def _mixed_ws(self, batch, update_w_avg):
        cfg = self.cfg
        z = torch.randn(batch, cfg.z_dim)
        ws = self.G.map_to_w(z, update_w_avg=update_w_avg)
        if cfg.mixing_probability > 0:
            u = torch.rand(2).tolist()
            if u[0] < cfg.mixing_probability:
                nws = self.G.num_ws
                cutoff = 1 + int(min(math.floor(u[1] * (nws - 1)), nws - 2))
                ws2 = self.G.map_to_w(torch.randn(batch, cfg.z_dim))
                ws = StyleGan2Generator.mix_styles(ws, ws2, cutoff)
        return ws

    @staticmethod
    def _finite(t, what, step):
        v = t.detach().item()
        if not math.isfinite(v):
            raise RuntimeError("training diverged at step %d: %s = %s" % (step, what, v))
        return v

    def _set_requires_grad(self, m, on):
        for p in m.parameters():
            p.requires_grad_(on)

    def step(self):
        cfg, b = self.cfg, self.cfg.batch_size
        self.G.train()
        self.D.train()
        # generator
        self._set_requires_grad(self.D, False)
        self.g_opt.zero_grad()
        fake_logits_g = self.D(self.G.synthesize(self._mixed_ws(b, True)))
        loss_g = F.softplus(-fake_logits_g).mean()
        self._finite(loss_g, "generator loss", self.step_no)
        loss_g.backward()
        self.g_opt.step()
        self._set_requires_grad(self.D, True)
        # EMA
        self._ema_update(beta_from_half_life(b, cfg.ema_half_life_kimg * 1000, self.images_seen, cfg.ema_rampup))
        # discriminator
        reals = self.images.to(torch.float32) / 127.5 - 1
        with torch.no_grad():
            fakes = self.G.synthesize(self._mixed_ws(b, False))
        self.d_opt.zero_grad()
        real_logits = self.D(reals)
        fake_logits = self.D(fakes)
        loss_d = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        self._finite(loss_d, "discriminator loss", self.step_no)
        loss_d.backward()
        self.d_opt.step()
        self.images_seen += b
        self.step_no += 1
        # the trainer's own log row stays in our TrainStepOn (the C# worker keeps it): four item() calls
        real_logits.detach().mean().item(), real_logits.detach().std().item()
        fake_logits.detach().mean().item(), fake_logits.detach().std().item()

    def sample(self, n):
        img = self.G_ema.sample(n)  # GEma.Sample(n, 1.0): unseeded z, constant noise
        ((img + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)  # Preprocess.FromSigned

    def forward_for_flops(self):
        """Forward passes of one iteration with their losses: G -> D (generator loss), then D on reals and on
        no-grad fakes (discriminator loss): 2 G forwards + 3 D forwards. Note: PyTorch 1.13's profiler counts no
        FLOPs for aten::conv_transpose2d, so the three upsampling layers' transposed convs are missing from the sum:
        2 * 2*B*(64*16*64*9 + 64*64*32*9 + 32*256*16*9) = B * 11,796,480 FLOPs per iteration."""
        b = self.cfg.batch_size
        self.G.train()
        self.D.train()
        with torch.no_grad():
            F.softplus(-self.D(self.G.synthesize(self._mixed_ws(b, False)))).mean()
            reals = self.images.to(torch.float32) / 127.5 - 1
            fakes = self.G.synthesize(self._mixed_ws(b, False))
            F.softplus(self.D(fakes)).mean() + F.softplus(-self.D(reals)).mean()


def build(args):
    return StyleGan2Bench(args)


if __name__ == "__main__":
    run_worker(build)

"""Reference checkpoints for the interop tests (tests/Workbench.Tests/Interop), written for this project.

Minimal PyTorch modules that reproduce the parameter names and the maths of two public layouts at a tiny size:
rosinality/stylegan2-pytorch's Generator and Discriminator (model.py) and rosinality/glow-pytorch's Glow (model.py). They are written
from those layouts, not copied: only the state-dict names and the computations are the same. Weights are random
(seeded), so every tensor matters.

  reference.py stylegan2 OUT           -> OUT/stylegan2.pt ({"g_ema", "latent_avg"}), OUT/stylegan2_nvlabs.pt (the same
                                          generator with its upsampling conv weights in NVlabs' orientation, i.e.
                                          flipped back), OUT/stylegan2_io.pt (z, psi, images with the stored noise)
  reference.py glow OUT VARIANT        -> OUT/glow_VARIANT.pt (a state dict as glow-pytorch's train.py saves it, keys
                                          under "module."), OUT/glow_VARIANT_io.pt (x, log p(x)); VARIANT is
                                          affine-lu | additive-lu | affine-conv
                                          and OUT/stylegan2_gan.pt (the whole GAN as train.py saves it, without args:
                                          g, d (the Discriminator), g_ema, g_optim, d_optim, latent_avg), OUT/stylegan2_d_io.pt
                                          (x: 8 images, logits: d(x))
  reference.py check-stylegan2 PT IO   loads PT with torch.load(weights_only=True) into the reference generator and
                                          compares its images with IO's; prints the max difference, exit 1 if > 1e-4
  reference.py check-stylegan2-d PT IO the same for PT's "d" and the discriminator's logits
  reference.py check-glow PT IO VARIANT  the same for Glow's log p (relative 1e-4)
  reference.py evil OUT                -> OUT/evil.pt (a torch.save file whose pickle would run a shell command when
                                          unpickled naively: it would create OUT/PWNED), OUT/namespace.pt (a state dict
                                          beside an argparse.Namespace, as stylegan2-pytorch's train.py saves "args")
Runs on Debian's python3-torch (1.13) or later.
"""
import argparse
import math
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F


# ----------------------------------------------------------------------------------------------- StyleGAN2 (rosinality)

def fir_kernel(taps):
    k = torch.tensor(taps, dtype=torch.float32)
    k = torch.outer(k, k)
    return k / k.sum()


def upfirdn(x, kernel, up=1, pad=(0, 0)):
    """Zero insertion by `up`, padding (pad0, pad1) on both axes, true convolution with `kernel`."""
    n, c, h, w = x.shape
    if up > 1:
        y = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = torch.flip(kernel, [0, 1]).to(x.dtype)
    return F.conv2d(x, k[None, None].repeat(c, 1, 1, 1), groups=c)


class EqualLinear(nn.Module):
    def __init__(self, fan_in, fan_out, bias_init=0.0, lr_mul=1.0, lrelu=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fan_out, fan_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((fan_out,), float(bias_init)))
        self.gain = lr_mul / math.sqrt(fan_in)
        self.lr_mul = lr_mul
        self.lrelu = lrelu

    def forward(self, x):
        y = F.linear(x, self.weight * self.gain)
        y = y + self.bias * self.lr_mul
        return F.leaky_relu(y, 0.2) * math.sqrt(2) if self.lrelu else y


class PixelNorm(nn.Module):
    def forward(self, z):
        return z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)


class Blur(nn.Module):
    def __init__(self, pad, gain):
        super().__init__()
        self.register_buffer("kernel", fir_kernel([1, 3, 3, 1]) * gain)
        self.pad = pad

    def forward(self, x):
        return upfirdn(x, self.kernel, pad=self.pad)


class ModConv(nn.Module):
    def __init__(self, cin, cout, k, wdim, demod=True, up=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.modulation = EqualLinear(wdim, cin, bias_init=1.0)
        self.gain = 1 / math.sqrt(cin * k * k)
        self.demod, self.up, self.k, self.cout = demod, up, k, cout
        if up:
            # the blur after a stride-2 transposed k x k conv: pads ((p+1)//2 + 1, p//2 + 1), p = (4 - 2) - (k - 1)
            p = 2 - (k - 1)
            self.blur = Blur(((p + 1) // 2 + 1, p // 2 + 1), 4.0)

    def forward(self, x, w):
        n, cin, h, wd = x.shape
        s = self.modulation(w).view(n, 1, cin, 1, 1)
        wt = self.gain * self.weight * s
        if self.demod:
            wt = wt * torch.rsqrt(wt.pow(2).sum([2, 3, 4]) + 1e-8).view(n, self.cout, 1, 1, 1)
        x = x.reshape(1, n * cin, h, wd)
        if self.up:
            wt = wt.transpose(1, 2).reshape(n * cin, self.cout, self.k, self.k)
            y = F.conv_transpose2d(x, wt, stride=2, groups=n)
            return self.blur(y.view(n, self.cout, y.shape[2], y.shape[3]))
        y = F.conv2d(x, wt.reshape(n * self.cout, cin, self.k, self.k), padding=self.k // 2, groups=n)
        return y.view(n, self.cout, h, wd)


class Noise(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x, noise):
        return x + self.weight * noise


class BiasLrelu(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2) * math.sqrt(2)


class StyledConv(nn.Module):
    def __init__(self, cin, cout, wdim, up=False):
        super().__init__()
        self.conv = ModConv(cin, cout, 3, wdim, up=up)
        self.noise = Noise()
        self.activate = BiasLrelu(cout)

    def forward(self, x, w, noise):
        return self.activate(self.noise(self.conv(x, w), noise))


class ToRGB(nn.Module):
    def __init__(self, cin, wdim, up=True):
        super().__init__()
        if up:
            self.upsample = Blur((2, 1), 4.0)   # FIR upsampling x2: pads (p+1)//2 + 1, p//2 with p = 4 - 2
        self.conv = ModConv(cin, 3, 1, wdim, demod=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, w, skip=None):
        y = self.conv(x, w) + self.bias
        if skip is not None:
            n, c, h, wd = skip.shape
            y = y + upfirdn(skip, self.upsample.kernel, up=2, pad=self.upsample.pad)
        return y


class Generator(nn.Module):
    def __init__(self, size, wdim, n_mlp, channels):
        super().__init__()
        self.size, self.wdim = size, wdim
        self.style = nn.Sequential(PixelNorm(), *[EqualLinear(wdim, wdim, lr_mul=0.01, lrelu=True) for _ in range(n_mlp)])
        self.input = nn.Module()
        self.input.input = nn.Parameter(torch.randn(1, channels[4], 4, 4))
        self.conv1 = StyledConv(channels[4], channels[4], wdim)
        self.to_rgb1 = ToRGB(channels[4], wdim, up=False)
        self.log_size = int(math.log2(size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.convs, self.to_rgbs, self.noises = nn.ModuleList(), nn.ModuleList(), nn.Module()
        for i in range(self.num_layers):
            r = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, r, r))
        cin = channels[4]
        for i in range(3, self.log_size + 1):
            cout = channels[2 ** i]
            self.convs.append(StyledConv(cin, cout, wdim, up=True))
            self.convs.append(StyledConv(cout, cout, wdim))
            self.to_rgbs.append(ToRGB(cout, wdim))
            cin = cout
        self.n_latent = self.log_size * 2 - 2

    def forward(self, z, psi=1.0, latent_avg=None):
        w = self.style(z)
        if psi != 1.0:
            w = latent_avg + psi * (w - latent_avg)
        ws = w.unsqueeze(1).repeat(1, self.n_latent, 1)
        noise = [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]
        x = self.input.input.repeat(z.shape[0], 1, 1, 1)
        x = self.conv1(x, ws[:, 0], noise[0])
        img = self.to_rgb1(x, ws[:, 1])
        i = 1
        for c1, c2, n1, n2, rgb in zip(self.convs[::2], self.convs[1::2], noise[1::2], noise[2::2], self.to_rgbs):
            x = c1(x, ws[:, i], n1)
            x = c2(x, ws[:, i + 1], n2)
            img = rgb(x, ws[:, i + 2], img)
            i += 2
        return img


class EqualConv(nn.Module):
    """A convolution with the equalized learning rate: weight ~ N(0, 1) scaled by 1/sqrt(fan_in) when used."""

    def __init__(self, cin, cout, k, stride=1, padding=0, bias=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.gain = 1 / math.sqrt(cin * k * k)
        self.stride, self.padding = stride, padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.gain, self.bias, stride=self.stride, padding=self.padding)


def conv_layer(cin, cout, k, down=False, activate=True):
    """Numbered as stylegan2-pytorch's ConvLayer (an nn.Sequential): [blur,] conv, [bias + leaky ReLU x sqrt 2].
    Downsampling blurs with the [1, 3, 3, 1] kernel (sum 1), padded by (p + 1) // 2, p // 2 with p = (4 - 2) + (k - 1),
    then convolves with stride 2 and no padding. An activated layer keeps its bias in the activation."""
    layers = []
    if down:
        p = 2 + (k - 1)
        layers += [Blur(((p + 1) // 2, p // 2), 1.0), EqualConv(cin, cout, k, stride=2)]
    else:
        layers.append(EqualConv(cin, cout, k, padding=k // 2))
    if activate:
        layers.append(BiasLrelu(cout))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = conv_layer(cin, cin, 3)
        self.conv2 = conv_layer(cin, cout, 3, down=True)
        self.skip = conv_layer(cin, cout, 1, down=True, activate=False)

    def forward(self, x):
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class Discriminator(nn.Module):
    """FromRGB, ResBlocks down to 4x4, minibatch stddev (groups of min(N, 4), one feature), 3x3 conv, two linears."""

    def __init__(self, size, channels):
        super().__init__()
        blocks = [conv_layer(3, channels[size], 1)]
        r = size
        while r > 4:
            blocks.append(ResBlock(channels[r], channels[r // 2]))
            r //= 2
        self.convs = nn.Sequential(*blocks)
        c4 = channels[4]
        self.final_conv = conv_layer(c4 + 1, c4, 3)
        self.final_linear = nn.Sequential(EqualLinear(c4 * 16, c4, lrelu=True), EqualLinear(c4, 1))

    def forward(self, img):
        x = self.convs(img)
        n, c, h, w = x.shape
        g = min(n, 4)
        # sample i sits in group slot i // (n / g): each group takes one sample from each of g equal slices of the batch
        sd = (x.reshape(g, n // g, 1, c, h, w).var(0, unbiased=False) + 1e-8).sqrt().mean([2, 3, 4])   # [n/g, 1]
        x = torch.cat([x, sd.reshape(n // g, 1, 1, 1).repeat(g, 1, h, w)], 1)
        return self.final_linear(self.final_conv(x).reshape(n, -1))


STYLEGAN2 = dict(size=16, wdim=32, n_mlp=2, channels={4: 32, 8: 32, 16: 16})


def randomise(module, scale=0.5):
    """Every parameter random (the zero-initialised ones included), so that each one matters."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn_like(p) * scale + (1.0 if name.endswith("modulation.bias") else 0.0))


def stylegan2_outputs(g, io):
    with torch.no_grad():
        return {"img": g(io["z"]), "img_trunc": g(io["z"], io["psi"].item(), io["latent_avg"])}


def make_stylegan2(out):
    torch.manual_seed(1)
    g = Generator(**STYLEGAN2)
    randomise(g)
    latent_avg = torch.randn(STYLEGAN2["wdim"]) * 0.3
    sd = g.state_dict()
    torch.save({"g_ema": sd, "latent_avg": latent_avg}, os.path.join(out, "stylegan2.pt"))
    # NVlabs' upsampling convolutions use their kernels flipped relative to rosinality's (stylegan2-pytorch's
    # convert_weight.py flips Conv0_up's weight over its two spatial axes): the same generator in that orientation.
    nv = {k: (torch.flip(v, [3, 4]) if k.startswith("convs.") and k.endswith(".conv.weight") and int(k.split(".")[1]) % 2 == 0 else v)
          for k, v in sd.items()}
    torch.save({"g_ema": nv, "latent_avg": latent_avg}, os.path.join(out, "stylegan2_nvlabs.pt"))
    io = {"z": torch.randn(3, STYLEGAN2["wdim"]), "psi": torch.tensor(0.7), "latent_avg": latent_avg}
    io.update(stylegan2_outputs(g, io))
    torch.save(io, os.path.join(out, "stylegan2_io.pt"))
    # A whole GAN as train.py saves it (without "args"): g (another random generator), d, g_ema, the optimizers' states
    # after one step.
    g_train = Generator(**STYLEGAN2)
    randomise(g_train)
    d = Discriminator(STYLEGAN2["size"], STYLEGAN2["channels"])
    with torch.no_grad():   # unit weights keep the signal's scale through the blocks, so the logits depend on the image
        for name, p in d.named_parameters():
            p.copy_(torch.randn_like(p) * (0.1 if name.endswith("bias") else 1.0))
    g_optim = torch.optim.Adam(g_train.parameters(), lr=0.002, betas=(0, 0.99))
    d_optim = torch.optim.Adam(d.parameters(), lr=0.002, betas=(0, 0.99))
    x = torch.randn(8, 3, STYLEGAN2["size"], STYLEGAN2["size"])
    g_train(torch.randn(4, STYLEGAN2["wdim"])).square().mean().backward()
    d(x).mean().backward()
    g_optim.step()
    d_optim.step()
    torch.save({"g": g_train.state_dict(), "d": d.state_dict(), "g_ema": sd, "g_optim": g_optim.state_dict(),
                "d_optim": d_optim.state_dict(), "latent_avg": latent_avg}, os.path.join(out, "stylegan2_gan.pt"))
    with torch.no_grad():
        torch.save({"x": x, "logits": d(x)}, os.path.join(out, "stylegan2_d_io.pt"))


def check_stylegan2(pt, io_path):
    ck = torch.load(pt, weights_only=True)
    io = torch.load(io_path, weights_only=True)
    g = Generator(**STYLEGAN2)
    g.load_state_dict(ck["g_ema"], strict=True)
    io["latent_avg"] = ck["latent_avg"]
    out = stylegan2_outputs(g, io)
    err = max((out[k] - io[k]).abs().max().item() for k in ("img", "img_trunc"))
    print(f"max abs difference {err:.3g}")
    return 0 if err <= 1e-4 else 1


def check_stylegan2_d(pt, io_path):
    ck = torch.load(pt, weights_only=True)
    io = torch.load(io_path, weights_only=True)
    d = Discriminator(STYLEGAN2["size"], STYLEGAN2["channels"])
    d.load_state_dict(ck["d"], strict=True)
    with torch.no_grad():
        err = (d(io["x"]) - io["logits"]).abs().max().item()
    print(f"max abs difference {err:.3g}")
    return 0 if err <= 1e-4 else 1


# ---------------------------------------------------------------------------------------------------- Glow (rosinality)

class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.scale = nn.Parameter(torch.ones(1, c, 1, 1))
        self.register_buffer("initialized", torch.tensor(1, dtype=torch.uint8))

    def forward(self, x):
        return self.scale * (x + self.loc), x.shape[2] * x.shape[3] * self.scale.abs().log().sum()


class InvConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.linalg.qr(torch.randn(c, c))[0][:, :, None, None])

    def forward(self, x):
        return F.conv2d(x, self.weight), x.shape[2] * x.shape[3] * torch.slogdet(self.weight.squeeze().double())[1].float()


class InvConvLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        q = torch.linalg.qr(torch.randn(c, c))[0]
        p, l, u = torch.lu_unpack(*torch.linalg.lu_factor(q))
        s = torch.diag(u)
        self.register_buffer("w_p", p)
        self.register_buffer("u_mask", torch.triu(torch.ones(c, c), 1))
        self.register_buffer("l_mask", torch.triu(torch.ones(c, c), 1).T.contiguous())
        self.register_buffer("s_sign", torch.sign(s))
        self.register_buffer("l_eye", torch.eye(c))
        self.w_l = nn.Parameter(l)
        self.w_s = nn.Parameter(s.abs().log())
        self.w_u = nn.Parameter(torch.triu(u, 1))

    def weight(self):
        return self.w_p @ (self.w_l * self.l_mask + self.l_eye) @ (self.w_u * self.u_mask + torch.diag(self.s_sign * torch.exp(self.w_s)))

    def forward(self, x):
        return F.conv2d(x, self.weight()[:, :, None, None]), x.shape[2] * x.shape[3] * self.w_s.sum()


class ZeroConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=0)
        self.scale = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x):
        return self.conv(F.pad(x, [1, 1, 1, 1], value=1)) * torch.exp(self.scale * 3)


class Coupling(nn.Module):
    def __init__(self, c, hidden, affine):
        super().__init__()
        self.affine = affine
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 ZeroConv(hidden, c if affine else c // 2))

    def forward(self, x):
        a, b = x.chunk(2, 1)
        h = self.net(a)
        if self.affine:
            log_s, t = h.chunk(2, 1)          # first half: scale logits, second half: shift
            s = torch.sigmoid(log_s + 2)
            return torch.cat([a, (b + t) * s], 1), s.log().flatten(1).sum(1)
        return torch.cat([a, b + h], 1), 0


class Step(nn.Module):
    def __init__(self, c, hidden, affine, lu):
        super().__init__()
        self.actnorm = ActNorm(c)
        self.invconv = InvConvLU(c) if lu else InvConv(c)
        self.coupling = Coupling(c, hidden, affine)

    def forward(self, x):
        x, l1 = self.actnorm(x)
        x, l2 = self.invconv(x)
        x, l3 = self.coupling(x)
        return x, l1 + l2 + l3


def gaussian_log_p(x, mean, log_sd):
    return -0.5 * math.log(2 * math.pi) - log_sd - 0.5 * (x - mean) ** 2 / torch.exp(2 * log_sd)


class Block(nn.Module):
    def __init__(self, c, n_flow, hidden, affine, lu, split):
        super().__init__()
        self.flows = nn.ModuleList([Step(4 * c, hidden, affine, lu) for _ in range(n_flow)])
        self.split = split
        self.prior = ZeroConv(2 * c, 4 * c) if split else ZeroConv(4 * c, 8 * c)

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)
        logdet = 0
        for f in self.flows:
            x, ld = f(x)
            logdet = logdet + ld
        if self.split:
            x, z = x.chunk(2, 1)
            mean, log_sd = self.prior(x).chunk(2, 1)
        else:
            z = x
            mean, log_sd = self.prior(torch.zeros_like(x)).chunk(2, 1)
        return x, logdet, gaussian_log_p(z, mean, log_sd).flatten(1).sum(1)


class Glow(nn.Module):
    def __init__(self, in_channel, n_flow, n_block, hidden, affine, lu):
        super().__init__()
        self.blocks = nn.ModuleList()
        c = in_channel
        for i in range(n_block - 1):
            self.blocks.append(Block(c, n_flow, hidden, affine, lu, split=True))
            c *= 2
        # glow-pytorch builds its last block with the LU convolution whatever conv_lu says
        self.blocks.append(Block(c, n_flow, hidden, affine, True, split=False))

    def forward(self, x):
        log_p, logdet = 0, 0
        for b in self.blocks:
            x, ld, lp = b(x)
            logdet, log_p = logdet + ld, log_p + lp
        return log_p + logdet


GLOW_VARIANTS = {"affine-lu": (True, True), "additive-lu": (False, True), "affine-conv": (True, False)}
GLOW = dict(in_channel=3, n_flow=2, n_block=2, hidden=8)
GLOW_SIZE = 8


def make_glow(out, variant):
    affine, lu = GLOW_VARIANTS[variant]
    torch.manual_seed(2)
    m = Glow(**GLOW, affine=affine, lu=lu)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("actnorm.scale"):
                p.copy_(torch.exp(torch.randn_like(p) * 0.2))
            elif name.endswith("actnorm.loc"):
                p.copy_(torch.randn_like(p) * 0.2)
            elif name.endswith("w_s"):
                p.add_(torch.randn_like(p) * 0.1)
            elif not name.endswith(("w_l", "w_u", "invconv.weight")):
                p.copy_(torch.randn_like(p) * 0.1)
    sd = {"module." + k: v for k, v in m.state_dict().items()}   # train.py saves the nn.DataParallel wrapper's state dict
    torch.save(sd, os.path.join(out, f"glow_{variant}.pt"))
    x = torch.rand(4, 3, GLOW_SIZE, GLOW_SIZE) - 0.5
    with torch.no_grad():
        torch.save({"x": x, "logp": m(x)}, os.path.join(out, f"glow_{variant}_io.pt"))


def check_glow(pt, io_path, variant):
    affine, lu = GLOW_VARIANTS[variant]
    sd = torch.load(pt, weights_only=True)
    io = torch.load(io_path, weights_only=True)
    m = Glow(**GLOW, affine=affine, lu=lu)
    m.load_state_dict({k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}, strict=True)
    with torch.no_grad():
        logp = m(io["x"])
    err = ((logp - io["logp"]).abs() / io["logp"].abs()).max().item()
    print(f"max relative difference {err:.3g}")
    return 0 if err <= 1e-4 else 1


# ------------------------------------------------------------------------------------------------------ unsafe pickles

class RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def make_evil(out):
    torch.save({"weight": torch.zeros(2), "payload": RunsACommand(os.path.join(out, "PWNED"))}, os.path.join(out, "evil.pt"))
    torch.save({"g_ema": {"w": torch.ones(2)}, "args": argparse.Namespace(size=16)}, os.path.join(out, "namespace.pt"))


def main(argv):
    cmd = argv[1]
    if cmd == "stylegan2":
        make_stylegan2(argv[2])
    elif cmd == "glow":
        make_glow(argv[2], argv[3])
    elif cmd == "check-stylegan2":
        return check_stylegan2(argv[2], argv[3])
    elif cmd == "check-stylegan2-d":
        return check_stylegan2_d(argv[2], argv[3])
    elif cmd == "check-glow":
        return check_glow(argv[2], argv[3], argv[4])
    elif cmd == "evil":
        make_evil(argv[2])
    else:
        raise SystemExit(f"unknown command {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

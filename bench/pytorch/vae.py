"""PyTorch replica of our plain VAE Small (src/Workbench/Nvae/Vae.cs, VaeConfig.Small) and one NvaeTrainer step.

VaeConfig.Small on 1x28x28: stem conv3x3 1->12; encoder = [EncoderResidualCell 12->24 (down), 24->24, 24->48 (down),
48->48, ELU]; encoder cell = BN -> SiLU -> conv3x3 (stride 2 when down) -> BN -> SiLU -> conv3x3 -> SE, skip conv1x1
stride 2 when down, output skip + 0.1 * branch; q-sampler conv3x3 48->2*20 (one latent group 20x7x7), decoder input
conv3x3 20->48; decoder = [GeneratorResidualCell 48->48, 48->24 (up), 24->24, 24->12 (up), ELU]; generator cell =
(nearest 2x up) BN -> conv1x1 (x3) -> BN -> SiLU -> depthwise conv5x5 -> BN -> SiLU -> conv1x1 -> BN -> SE, skip
conv1x1 when up; output conv3x3 12->30 (discretized logistic mixture, 10 components). BatchNorm momentum 0.05, SE
hidden max(C/16, 4); weight normalisation off (as Vae builds its cells). N(mu, sigma) with NVAE's soft clamps.
Step (NvaeTrainer.TrainStepOn, nvae.TRAIN): LR warm-up 200 then cosine 1e-2 -> 1e-4 over 3,000 steps, KL warm-up beta over 30%
with KL balancing, loss = mean(-log p(x|z) + beta * balanced KL) + 1e-2 * sum of spectral norms (4 power iterations
per step over every conv, 40 at construction), Adamax(1e-2, (0.9, 0.999), eps 1e-3, weight decay 3e-4),
item() (divergence check), backward, clip_grad_norm_(200). Sampling: z ~ N(0, I) through the decoder, the
mixture's most probable component's mean, to uint8. Protocol: bench/README.md (common.py).

As Vae.cs builds on Nvae's classes, this replica imports the cells (the generator cell's depthwise conv with the
hand-written backward, as ours on the CPU), DiagonalNormal, the logistic mixture, the spectral regulariser, the
schedules, KL balancing and NvaeTrainConfig's defaults (TRAIN) from nvae.py, and the optimiser step from common.py.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fashion_batch, optimizer_step, run_worker, trainable_params  # noqa: E402
from nvae import (TRAIN, DiagonalNormal, DiscretizedLogisticMixture, EncoderResidualCell,  # noqa: E402
                  GeneratorResidualCell, SpectralRegularizer, balanced_kl, kl_beta, warmup_cosine)

# VaeConfig.Small
STEM, WIDTHS, LATENT, CELLS, EXPANSION, COMPONENTS, RS = 12, (24, 48), 20, 1, 3, 10, 0.1


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.likelihood = DiscretizedLogisticMixture(COMPONENTS)
        # stem, q-sampler, decoder input and output are plain nn.Conv2d in Vae.cs (Nvae's are WeightNormConv2d)
        self.stem = nn.Conv2d(1, STEM, 3, padding=1)
        enc, c = [], STEM
        for w in WIDTHS:
            enc.append(EncoderResidualCell(c, w, True, RS))
            c = w
            for _ in range(CELLS):
                enc.append(EncoderResidualCell(c, c, False, RS))
        enc.append(nn.ELU())
        self.encoder = nn.Sequential(*enc)
        self.enc_sampler = nn.Conv2d(c, 2 * LATENT, 3, padding=1)
        self.dec_input = nn.Conv2d(LATENT, c, 3, padding=1)
        dec = []
        for i in range(len(WIDTHS) - 1, -1, -1):
            for _ in range(CELLS):
                dec.append(GeneratorResidualCell(c, c, EXPANSION, False, RS))
            nxt = WIDTHS[i - 1] if i > 0 else STEM
            dec.append(GeneratorResidualCell(c, nxt, EXPANSION, True, RS))
            c = nxt
        dec.append(nn.ELU())
        self.decoder = nn.Sequential(*dec)
        self.output = nn.Conv2d(c, self.likelihood.param_channels(1), 3, padding=1)
        self.side = 28 >> len(WIDTHS)
        # Vae.cs: the spectral regulariser over these parts (buffers only, no parameters), 40 power iterations up front
        self.spectral = SpectralRegularizer([self.stem, self.encoder, self.enc_sampler, self.dec_input, self.decoder,
                                             self.output])

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


class VaeWorker:
    """NvaeTrainer on a Vae: as nvae.NvaeBench less the BN scale penalty (Vae.PenalizesBatchNormScale is false)."""

    def __init__(self, args):
        t = TRAIN
        self.model = Vae()
        self.params_list = list(self.model.parameters())
        self.opt = torch.optim.Adamax(self.params_list, lr=t["lr"], betas=(0.9, 0.999), eps=1e-3,
                                      weight_decay=t["weight_decay"])
        self.alpha = torch.tensor([1.0])
        self.images = fashion_batch(args)
        self.step_index = 0

    def params(self):
        return trainable_params(self.model)

    def _loss(self, beta):
        t = TRAIN
        _, log_px, kl, _, _ = self.model(self.images)
        loss = (-log_px + balanced_kl(kl, beta, self.alpha, t["kl_balance"])).mean()
        s = self.model.spectral.sum_of_sigmas(t["power_iterations"])
        s.item()
        return loss + t["spectral_lambda"] * s

    def step(self):
        t = TRAIN
        lr = warmup_cosine(self.step_index, t["lr"], t["warmup_steps"], t["steps"], t["min_lr"])
        for g in self.opt.param_groups:
            g["lr"] = lr
        beta = kl_beta(self.step_index)
        self.model.train()
        optimizer_step(self.opt, self.params_list, lambda: self._loss(beta), t["max_grad_norm"], self.step_index)
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

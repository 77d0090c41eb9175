#!/usr/bin/python3
"""Golden data for tests/test_scheduler.c: the SD-1.5 noise schedule and the
DDIM / PNDM samplers exactly as diffusers v0.27.2 defines them.

diffusers is not installed here, so this re-implements, in plain torch and
numpy, the parts of upstream the engine must reproduce:
  - DDIMScheduler.__init__ / set_timesteps / step / _get_variance / add_noise
    (src/diffusers/schedulers/scheduling_ddim.py, clip_sample=False and
    thresholding=False as in SD-1.5's scheduler_config.json)
  - PNDMScheduler.__init__ / set_timesteps / step_plms / _get_prev_sample
    with skip_prk_steps=True (src/diffusers/schedulers/scheduling_pndm.py)
  - StableDiffusionImg2ImgPipeline.get_timesteps (the strength truncation)
    and prepare_latents (add_noise at timesteps[:1]).
Arithmetic follows upstream: float32 tensors for betas, alphas_cumprod and
every per-step quantity; numpy float64 for timestep spacing.

Run: /usr/bin/python3 tests/reference/schedulers.py  (torch 1.13, numpy)
Writes tests/golden/schedulers.safetensors (about 150 KB).
"""
import json
import math
import os
import struct

import numpy as np
import torch

T = 1000
SD15 = dict(num_train_timesteps=T, beta_start=0.00085, beta_end=0.012,
            beta_schedule="scaled_linear", steps_offset=1,
            set_alpha_to_one=False)


def make_betas(beta_start, beta_end, schedule, n):
    if schedule == "linear":
        return torch.linspace(beta_start, beta_end, n, dtype=torch.float32)
    if schedule == "scaled_linear":
        # "very specific to the latent diffusion model" (upstream comment):
        # linspace of the square roots in float32, then squared.
        return torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n,
                              dtype=torch.float32) ** 2
    raise ValueError(schedule)


class Schedule:
    def __init__(self, num_train_timesteps=T, beta_start=0.00085,
                 beta_end=0.012, beta_schedule="scaled_linear",
                 steps_offset=1, set_alpha_to_one=False,
                 timestep_spacing="leading"):
        self.T = num_train_timesteps
        self.steps_offset = steps_offset
        self.spacing = timestep_spacing
        self.betas = make_betas(beta_start, beta_end, beta_schedule, self.T)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.final_alpha_cumprod = (torch.tensor(1.0) if set_alpha_to_one
                                    else self.alphas_cumprod[0])

    def add_noise(self, original, noise, timesteps):
        ac = self.alphas_cumprod.to(dtype=original.dtype)
        sqrt_alpha_prod = (ac[timesteps] ** 0.5).flatten()
        sqrt_one_minus = ((1 - ac[timesteps]) ** 0.5).flatten()
        while len(sqrt_alpha_prod.shape) < len(original.shape):
            sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)
            sqrt_one_minus = sqrt_one_minus.unsqueeze(-1)
        return sqrt_alpha_prod * original + sqrt_one_minus * noise

    def ac(self, t):
        return self.alphas_cumprod[t] if t >= 0 else self.final_alpha_cumprod


class DDIM(Schedule):
    order = 1

    def set_timesteps(self, n):
        if n > self.T:
            raise ValueError("steps > T")
        self.num_inference_steps = n
        if self.spacing == "linspace":
            ts = (np.linspace(0, self.T - 1, n).round()[::-1].copy()
                  .astype(np.int64))
        elif self.spacing == "leading":
            step_ratio = self.T // n
            ts = (np.arange(0, n) * step_ratio).round()[::-1].copy().astype(
                np.int64)
            ts += self.steps_offset
        elif self.spacing == "trailing":
            step_ratio = self.T / n
            ts = np.round(np.arange(self.T, 0, -step_ratio)).astype(np.int64)
            ts -= 1
        else:
            raise ValueError(self.spacing)
        self.timesteps = torch.from_numpy(ts)

    def _get_variance(self, timestep, prev_timestep):
        alpha_prod_t = self.alphas_cumprod[timestep]
        alpha_prod_t_prev = self.ac(prev_timestep)
        beta_prod_t = 1 - alpha_prod_t
        beta_prod_t_prev = 1 - alpha_prod_t_prev
        return (beta_prod_t_prev / beta_prod_t) * (
            1 - alpha_prod_t / alpha_prod_t_prev)

    def step(self, model_output, timestep, sample, eta=0.0,
             variance_noise=None):
        prev_timestep = timestep - self.T // self.num_inference_steps
        alpha_prod_t = self.alphas_cumprod[timestep]
        alpha_prod_t_prev = self.ac(prev_timestep)
        beta_prod_t = 1 - alpha_prod_t
        pred_original_sample = (sample - beta_prod_t ** (0.5) * model_output
                                ) / alpha_prod_t ** (0.5)
        pred_epsilon = model_output
        variance = self._get_variance(timestep, prev_timestep)
        std_dev_t = eta * variance ** (0.5)
        pred_sample_direction = (1 - alpha_prod_t_prev - std_dev_t ** 2
                                 ) ** (0.5) * pred_epsilon
        prev_sample = (alpha_prod_t_prev ** (0.5) * pred_original_sample
                       + pred_sample_direction)
        if eta > 0:
            prev_sample = prev_sample + std_dev_t * variance_noise
        return prev_sample

    def coeffs(self, timestep, eta):
        """Our closed form: prev = cs*sample + ce*eps + cn*noise, in float64
        from the float32 alphas_cumprod (what the C code computes)."""
        prev = timestep - self.T // self.num_inference_steps
        a = float(self.alphas_cumprod[timestep])
        ap = float(self.ac(prev))
        var = (1 - ap) / (1 - a) * (1 - a / ap)
        std = eta * math.sqrt(var)
        cs = math.sqrt(ap) / math.sqrt(a)
        ce = math.sqrt(1 - ap - std * std) - math.sqrt(ap) * math.sqrt(1 - a) / math.sqrt(a)
        return [timestep, prev, cs, ce, std, 1.0, 0.0, 0.0, 0.0]


class PNDM(Schedule):
    order = 1
    pndm_order = 4

    def set_timesteps(self, n):
        self.num_inference_steps = n
        if self.spacing == "linspace":
            self._timesteps = (np.linspace(0, self.T - 1, n).round()
                               .astype(np.int64))
        elif self.spacing == "leading":
            step_ratio = self.T // n
            self._timesteps = (np.arange(0, n) * step_ratio).round()
            self._timesteps += self.steps_offset
        elif self.spacing == "trailing":
            step_ratio = self.T / n
            self._timesteps = np.round(
                np.arange(self.T, 0, -step_ratio))[::-1].astype(np.int64)
            self._timesteps -= 1
        else:
            raise ValueError(self.spacing)
        # skip_prk_steps=True: PLMS only, the second-to-last timestep repeated.
        self.prk_timesteps = np.array([])
        self.plms_timesteps = np.concatenate(
            [self._timesteps[:-1], self._timesteps[-2:-1],
             self._timesteps[-1:]])[::-1].copy()
        ts = np.concatenate([self.prk_timesteps, self.plms_timesteps]).astype(
            np.int64)
        self.timesteps = torch.from_numpy(ts)
        self.ets = []
        self.counter = 0
        self.cur_sample = None

    def step(self, model_output, timestep, sample):
        """step_plms; also returns the coefficient row of this call."""
        ratio = self.T // self.num_inference_steps
        prev_timestep = timestep - ratio
        if self.counter != 1:
            self.ets = self.ets[-3:]
            self.ets.append(model_output)
        else:
            prev_timestep = timestep
            timestep = timestep + ratio
        w = [0.0] * 4
        if len(self.ets) == 1 and self.counter == 0:
            model_output = model_output
            self.cur_sample = sample
            w[0] = 1.0
        elif len(self.ets) == 1 and self.counter == 1:
            model_output = (model_output + self.ets[-1]) / 2
            sample = self.cur_sample
            self.cur_sample = None
            w[0:2] = [0.5, 0.5]
        elif len(self.ets) == 2:
            model_output = (3 * self.ets[-1] - self.ets[-2]) / 2
            w[0:2] = [1.5, -0.5]
        elif len(self.ets) == 3:
            model_output = (23 * self.ets[-1] - 16 * self.ets[-2]
                            + 5 * self.ets[-3]) / 12
            w[0:3] = [23 / 12, -16 / 12, 5 / 12]
        else:
            model_output = (1 / 24) * (55 * self.ets[-1] - 59 * self.ets[-2]
                                       + 37 * self.ets[-3] - 9 * self.ets[-4])
            w = [55 / 24, -59 / 24, 37 / 24, -9 / 24]
        prev_sample = self._get_prev_sample(sample, timestep, prev_timestep,
                                            model_output)
        self.counter += 1
        a = float(self.alphas_cumprod[timestep])
        ap = float(self.ac(prev_timestep))
        cs = math.sqrt(ap / a)
        ce = -(ap - a) / (a * math.sqrt(1 - ap) + math.sqrt(a * (1 - a) * ap))
        return prev_sample, [timestep, prev_timestep, cs, ce, 0.0] + w

    def _get_prev_sample(self, sample, timestep, prev_timestep, model_output):
        alpha_prod_t = self.alphas_cumprod[timestep]
        alpha_prod_t_prev = self.ac(prev_timestep)
        beta_prod_t = 1 - alpha_prod_t
        beta_prod_t_prev = 1 - alpha_prod_t_prev
        sample_coeff = (alpha_prod_t_prev / alpha_prod_t) ** (0.5)
        model_output_denom_coeff = alpha_prod_t * beta_prod_t_prev ** (0.5) + (
            alpha_prod_t * beta_prod_t * alpha_prod_t_prev) ** (0.5)
        return (sample_coeff * sample - (alpha_prod_t_prev - alpha_prod_t)
                * model_output / model_output_denom_coeff)


def img2img_timesteps(sched, steps, strength):
    """StableDiffusionImg2ImgPipeline.get_timesteps."""
    init_timestep = min(int(steps * strength), steps)
    t_start = max(steps - init_timestep, 0)
    return sched.timesteps[t_start * sched.order:]


def fake_eps(sample, t):
    # Stands in for the U-Net; the C test computes the same with agf_scale.
    return 0.1 * sample + 0.01 * float(t) / 1000


def run(sched, steps, strength, x0, noise, eta=None, vnoise=None):
    sched.set_timesteps(steps)
    ts = img2img_timesteps(sched, steps, strength) if strength < 1.0 \
        else sched.timesteps
    if strength < 1.0:
        sample = sched.add_noise(x0, noise, ts[:1])
    else:
        sample = noise.clone()
    samples, rows = [sample], []
    for i, t in enumerate(ts.tolist()):
        eps = fake_eps(sample, t)
        if isinstance(sched, DDIM):
            sample = sched.step(eps, t, sample, eta=eta,
                                variance_noise=vnoise[i] if eta > 0 else None)
            rows.append(sched.coeffs(t, eta))
        else:
            sample, row = sched.step(eps, t, sample)
            rows.append(row)
        samples.append(sample)
    return ts, torch.stack(samples), torch.tensor(rows, dtype=torch.float64)


def write_safetensors(path, tensors, metadata):
    """The safetensors layout: u64 header length, JSON header, data."""
    codes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)


def main():
    out = {}
    sd = Schedule(**SD15)
    out["sd15.betas"] = sd.betas
    out["sd15.alphas_cumprod"] = sd.alphas_cumprod
    lin = Schedule(beta_start=0.0001, beta_end=0.02, beta_schedule="linear")
    out["linear.alphas_cumprod"] = lin.alphas_cumprod

    for kind, cls in (("ddim", DDIM), ("pndm", PNDM)):
        for spacing in ("leading", "trailing", "linspace"):
            s = cls(**SD15, timestep_spacing=spacing)
            for n in (1, 3, 7, 50, 333):
                s.set_timesteps(n)
                out[f"ts.{kind}.{spacing}.{n}"] = s.timesteps.clone()
        s = cls(**SD15)
        for n in (7, 50, 100):
            for strength in (0.0, 0.29, 0.5, 0.8, 1.0):
                s.set_timesteps(n)
                out[f"trunc.{kind}.{n}.{strength}"] = \
                    img2img_timesteps(s, n, strength).clone()

    g = torch.Generator().manual_seed(1234)
    x0 = torch.randn(1, 4, 4, 4, generator=g)
    noise = torch.randn(1, 4, 4, 4, generator=g)
    vnoise = torch.randn(50, 1, 4, 4, 4, generator=g)
    out["x0"], out["noise"], out["variance_noise"] = x0, noise, vnoise
    runs = {
        "ddim_eta0_full": (DDIM, 1.0, 0.0),
        "ddim_eta0_s08": (DDIM, 0.8, 0.0),
        "ddim_eta05_full": (DDIM, 1.0, 0.5),
        "ddim_eta05_s08": (DDIM, 0.8, 0.5),
        "pndm_full": (PNDM, 1.0, None),
        "pndm_s08": (PNDM, 0.8, None),
    }
    for name, (cls, strength, eta) in runs.items():
        ts, samples, rows = run(cls(**SD15), 50, strength, x0, noise, eta,
                                vnoise)
        out[f"run.{name}.timesteps"] = ts.clone()
        out[f"run.{name}.samples"] = samples
        out[f"run.{name}.coeffs"] = rows

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "golden", "schedulers.safetensors")
    meta = {"generator": "tests/reference/schedulers.py",
            "upstream": "diffusers v0.27.2 DDIMScheduler, PNDMScheduler",
            "torch": torch.__version__,
            "coeffs_columns": "t, t_prev, c_sample, c_eps, c_noise, "
                              "w_current, w_prev1, w_prev2, w_prev3"}
    write_safetensors(path, out, meta)
    print(path, os.path.getsize(path), "bytes")
    for k in ("run.pndm_s08.timesteps", "run.ddim_eta0_s08.timesteps"):
        print(k, out[k].tolist()[:4], "...", len(out[k]))
    print("pndm_s08 third row", out["run.pndm_s08.coeffs"][2, :2].tolist())


if __name__ == "__main__":
    main()

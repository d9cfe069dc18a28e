#!/usr/bin/env python3
"""Round trip of OneLoRA.Gen adapter files through Hugging Face PEFT.

  1. For every ours/<case>/ written by `PeftRoundtrip export`: PeftModel.from_pretrained on the same base model,
     compare its output (and the output after merge_and_unload) with ours (expected_output.safetensors), and
     check that PEFT found a place for every tensor of the file.
  2. Write PEFT's own adapters (LoRA, rsLoRA + bias="all", DoRA, VeRA with and without projections,
     modules_to_save) with save_pretrained into peft/<case>/, each with PEFT's output (peft_output.safetensors),
     for `PeftRoundtrip check` to load with FromPretrained.

Needs: python >= 3.9, torch, safetensors, peft (tested shapes follow peft 0.13-0.17). Exit status 0 when
every comparison is within the tolerance, 1 otherwise, 2 on a usage or file error.
"""
import argparse
import os
import sys

import torch
from safetensors.torch import load_file, save_file

try:
    from peft import LoraConfig, PeftModel, VeraConfig, get_peft_model, get_peft_model_state_dict
except ImportError as e:  # pragma: no cover - environment check
    sys.exit(f"roundtrip.py needs HF peft ({e}); pip install torch safetensors peft")

TOLERANCE = 1e-5


class Net(torch.nn.Module):
    """fc1 (16->32) -> LayerNorm -> ReLU -> fc2 (32->8): the module PeftRoundtrip's Net is, with the same names."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, 32)
        self.norm = torch.nn.LayerNorm(32)
        self.fc2 = torch.nn.Linear(32, 8)

    def forward(self, x):
        return self.fc2(torch.relu(self.norm(self.fc1(x))))


def base_model(root):
    model = Net()
    model.load_state_dict(load_file(os.path.join(root, "base.safetensors")))
    return model.eval()


def max_diff(a, b):
    return (a.double() - b.double()).abs().max().item()


def check_ours(root, x):
    failures = 0
    ours = os.path.join(root, "ours")
    for case in sorted(os.listdir(ours)):
        folder = os.path.join(ours, case)
        expected = load_file(os.path.join(folder, "expected_output.safetensors"))["y"]
        model = PeftModel.from_pretrained(base_model(root), folder).eval()
        file_keys = set(load_file(os.path.join(folder, "adapter_model.safetensors")).keys())
        with torch.no_grad():
            y = model(x)
            diff = max_diff(y, expected)
            merged = model.merge_and_unload()
            diff_merged = max_diff(merged(x), expected)
        # Keys PEFT would save for this adapter; a file key it does not know was dropped on load.
        # (PEFT's bias="lora_only" saving looks for '<layer>.bias' and misses '<layer>.base_layer.bias': those
        # keys load but PEFT does not save them again, so they are not counted here.)
        saved = set(get_peft_model_state_dict(PeftModel.from_pretrained(base_model(root), folder)).keys())
        dropped = sorted(k for k in file_keys - saved if not k.endswith(".base_layer.bias"))
        ok = diff <= TOLERANCE and diff_merged <= TOLERANCE and not dropped
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} ours/{case}: max |peft - ours| = {diff:.2e}, merged {diff_merged:.2e}"
              + (f", keys PEFT does not know: {dropped}" if dropped else ""))
    return failures


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)


def write_peft(root, x):
    cases = {
        "lora": LoraConfig(r=4, lora_alpha=8, target_modules=["fc1", "fc2"]),
        "lora_rslora_bias_all": LoraConfig(r=4, lora_alpha=8, use_rslora=True, bias="all", target_modules=["fc1", "fc2"]),
        "lora_modules_to_save": LoraConfig(r=2, lora_alpha=4, target_modules=["fc1"], modules_to_save=["norm", "fc2"]),
        "lora_patterns": LoraConfig(r=4, lora_alpha=8, target_modules=["fc1", "fc2"], rank_pattern={"fc2": 2}, alpha_pattern={"fc1": 3}),
        "dora": LoraConfig(r=4, lora_alpha=4, use_dora=True, target_modules=["fc1", "fc2"]),
        "vera": VeraConfig(r=8, target_modules=["fc1", "fc2"], projection_prng_key=5, save_projection=True),
        "vera_no_projection": VeraConfig(r=8, target_modules=["fc1", "fc2"], projection_prng_key=5, save_projection=False),
    }
    for i, (case, config) in enumerate(cases.items()):
        model = get_peft_model(base_model(root), config)
        randomize(model, 1000 + i)
        model.eval()
        folder = os.path.join(root, "peft", case)
        model.save_pretrained(folder)
        with torch.no_grad():
            save_file({"y": model(x).contiguous()}, os.path.join(folder, "peft_output.safetensors"))
        print(f"wrote peft/{case}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="the directory `PeftRoundtrip export` wrote")
    args = parser.parse_args()
    for required in ("base.safetensors", "input.safetensors", "ours"):
        if not os.path.exists(os.path.join(args.root, required)):
            print(f"{args.root} has no {required}; run `dotnet run --project tools/peft-roundtrip/export -- export {args.root}` first",
                  file=sys.stderr)
            return 2
    x = load_file(os.path.join(args.root, "input.safetensors"))["x"]
    failures = check_ours(args.root, x)
    write_peft(args.root, x)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes reference checkpoints for policy_golden_test with Hugging Face
transformers itself: random-init Qwen2 and Llama-3 (rope scaling) models saved by
save_pretrained (safetensors), plus expected.safetensors holding fixed input ids
and the logits transformers computes for them in float32 with eager attention.

Needs torch, transformers and safetensors (not packaged by Debian; e.g. on a
GPU machine). Then:

  python3 policy/testdata/hf_reference.py /tmp/hfref
  AG_POLICY_GOLDEN_DIRS=/tmp/hfref/qwen2:/tmp/hfref/llama3 build/policy/policy_golden_test

Weights are redrawn with a larger spread than transformers' init (std 0.02
makes logits nearly uniform, which would hide bugs); norms around 1.
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def write(out, name, config, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    config._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32).eval()
    randomize(model, gen)
    d = os.path.join(out, name)
    model.save_pretrained(d, safe_serialization=True)
    ids = torch.randint(0, config.vocab_size, (2, 11), generator=gen)
    with torch.no_grad():
        logits = model(ids).logits.float()
    save_file({"input_ids": ids.contiguous(), "logits": logits.contiguous()}, os.path.join(d, "expected.safetensors"))
    print(d, "transformers", transformers.__version__, "logits", tuple(logits.shape))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/hfref"
    write(out, "qwen2", transformers.Qwen2Config(
        vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rope_theta=1000000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, use_sliding_window=False), seed=1)
    write(out, "llama3", transformers.LlamaConfig(
        vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, max_position_embeddings=256, rope_theta=500000.0, rms_norm_eps=1e-5,
        tie_word_embeddings=False, attention_bias=False,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 16}), seed=2)


if __name__ == "__main__":
    main()

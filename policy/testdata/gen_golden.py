#!/usr/bin/python3
"""Writes golden fixtures for policy_golden_test: tiny random models in the
Qwen2 and Llama-3 layouts, as HF-style config.json + model.safetensors, and the
logits a plain-PyTorch reference (written here independently of the C++ code,
following transformers' Qwen2/Llama modelling code) gives for fixed inputs.

Run with Debian's python3-torch:  /usr/bin/python3 policy/testdata/gen_golden.py
HF transformers is not installed on CPU machines here; checking these fixtures
against transformers itself is left for a GPU machine (see docs/policy.md).
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = {
    "golden_qwen2": dict(model_type="qwen2", vocab_size=64, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=128, rope_theta=10000.0, rms_norm_eps=1e-6,
                         tie_word_embeddings=True, hidden_act="silu", rope_scaling=None),
    "golden_llama3": dict(model_type="llama", vocab_size=64, hidden_size=32, intermediate_size=48,
                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                          max_position_embeddings=128, rope_theta=10000.0, rms_norm_eps=1e-5,
                          tie_word_embeddings=False, hidden_act="silu", attention_bias=False,
                          rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                            high_freq_factor=4.0, original_max_position_embeddings=16)),
    # Llama with every optional bias (attention_bias also biases o_proj) and a
    # head_dim that is not hidden_size / num_attention_heads.
    "golden_llama_bias": dict(model_type="llama", vocab_size=64, hidden_size=32, intermediate_size=48,
                              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                              max_position_embeddings=128, rope_theta=500000.0, rms_norm_eps=1e-5,
                              tie_word_embeddings=False, hidden_act="silu", attention_bias=True, mlp_bias=True,
                              rope_scaling=None),
}
# Fixed per fixture so adding one leaves the others unchanged.
SEEDS = {"golden_llama3": 1234, "golden_qwen2": 1235, "golden_llama_bias": 1236}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_weights(cfg, gen):
    h, i = cfg["hidden_size"], cfg["intermediate_size"]
    nh, kvh = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // nh
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    o_bias = cfg["model_type"] == "llama" and cfg.get("attention_bias", False)  # LlamaAttention.o_proj
    mlp_bias = cfg.get("mlp_bias", False)
    w = {}

    def rnd(*shape, mean=0.0, std=0.2):
        return torch.randn(*shape, generator=gen) * std + mean

    w["model.embed_tokens.weight"] = rnd(cfg["vocab_size"], h, std=1.0)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "self_attn.q_proj.weight"] = rnd(nh * hd, h)
        w[p + "self_attn.k_proj.weight"] = rnd(kvh * hd, h)
        w[p + "self_attn.v_proj.weight"] = rnd(kvh * hd, h)
        w[p + "self_attn.o_proj.weight"] = rnd(h, nh * hd)
        if bias:
            w[p + "self_attn.q_proj.bias"] = rnd(nh * hd)
            w[p + "self_attn.k_proj.bias"] = rnd(kvh * hd)
            w[p + "self_attn.v_proj.bias"] = rnd(kvh * hd)
        if o_bias:
            w[p + "self_attn.o_proj.bias"] = rnd(h)
        if mlp_bias:
            w[p + "mlp.gate_proj.bias"] = rnd(i)
            w[p + "mlp.up_proj.bias"] = rnd(i)
            w[p + "mlp.down_proj.bias"] = rnd(h)
        w[p + "mlp.gate_proj.weight"] = rnd(i, h)
        w[p + "mlp.up_proj.weight"] = rnd(i, h)
        w[p + "mlp.down_proj.weight"] = rnd(h, i)
        w[p + "input_layernorm.weight"] = rnd(h, mean=1.0)
        w[p + "post_attention_layernorm.weight"] = rnd(h, mean=1.0)
    w["model.norm.weight"] = rnd(h, mean=1.0)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(cfg["vocab_size"], h)
    return w


def inv_freq(cfg, hd):
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type") == "llama3":  # transformers' _compute_llama3_parameters
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        scaled = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rms(x, w, eps):
    xf = x.float()
    return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def reference_logits(cfg, w, ids):
    b, t = ids.shape
    h, nh, kvh = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // nh
    eps = cfg["rms_norm_eps"]
    pos = torch.arange(t).float()
    freqs = torch.outer(pos, inv_freq(cfg, hd))
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    causal = torch.full((t, t), float("-inf")).triu(1)
    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        lin = lambda v, n: torch.nn.functional.linear(v, w[p + n + ".weight"], w.get(p + n + ".bias"))
        y = rms(x, w[p + "input_layernorm.weight"], eps)
        q = lin(y, "self_attn.q_proj").view(b, t, nh, hd).transpose(1, 2)
        k = lin(y, "self_attn.k_proj").view(b, t, kvh, hd).transpose(1, 2)
        v = lin(y, "self_attn.v_proj").view(b, t, kvh, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // kvh, dim=1)  # transformers' repeat_kv
        v = v.repeat_interleave(nh // kvh, dim=1)
        att = (q @ k.transpose(2, 3)) / math.sqrt(hd) + causal
        att = torch.softmax(att.float(), dim=-1).to(q.dtype)
        o = (att @ v).transpose(1, 2).reshape(b, t, nh * hd)
        x = x + lin(o, "self_attn.o_proj")
        y = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + lin(torch.nn.functional.silu(lin(y, "mlp.gate_proj")) * lin(y, "mlp.up_proj"), "mlp.down_proj")
    x = rms(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.t()


def main():
    for name, cfg in sorted(CONFIGS.items()):
        gen = torch.Generator().manual_seed(SEEDS[name])
        w = make_weights(cfg, gen)
        ids = torch.randint(0, cfg["vocab_size"], (2, 11), generator=gen)
        with torch.no_grad():
            logits = reference_logits(cfg, w, ids)
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(out, "model.safetensors"), w)
        write_safetensors(os.path.join(out, "expected.safetensors"), {"input_ids": ids, "logits": logits})
        print(name, "params", sum(v.numel() for v in w.values()), "logits", tuple(logits.shape))


if __name__ == "__main__":
    main()

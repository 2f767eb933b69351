"""PyTorch reference for the transformer benchmark: the same LLaMA-style
architecture as lifelong's `transformer` model (RMSNorm, rotary embeddings
in the rotate-half layout, causal multi-head attention, SwiGLU feed-forward
of the same size, untied head), written with torch.nn building blocks,
trained with AdamW on random byte sequences.  Prints training positions
(tokens) per second as JSON.  Run by run-transformer.sh with the same BLIS
kernel set and threads as lifelong."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.dh).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.h, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.h, self.dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = (q @ k.transpose(-1, -2)) / self.dh ** 0.5 + mask
        o = F.softmax(a, dim=-1) @ v
        return self.o_proj(o.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.input_layernorm = RMSNorm(d)
        self.self_attn = Attention(d, heads)
        self.post_attention_layernorm = RMSNorm(d)
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, vocab, d, layers, heads, ff, ctx):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([Block(d, heads, ff) for _ in range(layers)])
        self.norm = RMSNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        dh = d // heads
        inv = 1.0 / (10000 ** (torch.arange(0, dh, 2).float() / dh))
        ang = torch.outer(torch.arange(ctx).float(), inv)
        emb = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", emb.cos()[None, None])
        self.register_buffer("sin", emb.sin()[None, None])
        self.register_buffer("mask", torch.full((ctx, ctx), float("-inf")).triu(1))

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.embed_tokens(tokens)
        cos, sin, mask = self.cos[:, :, :t], self.sin[:, :, :t], self.mask[:t, :t]
        for blk in self.layers:
            x = blk(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    vocab = 259
    ff = ((8 * a.d // 3 + 31) // 32) * 32
    model = Llama(vocab, a.d, a.layers, a.heads, ff, a.ctx)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = torch.randint(0, 256, (a.steps + 5, a.batch, a.ctx + 1))
    for s in range(a.steps + 5):
        if s == 5:
            t0 = time.perf_counter()
        x, y = data[s, :, :-1], data[s, :, 1:]
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    dt = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"impl": "pytorch", "threads": a.threads, "d": a.d, "layers": a.layers, "ctx": a.ctx,
                      "batch": a.batch, "params": params,
                      "tokens_per_s": round(a.steps * a.batch * a.ctx / dt, 1)}))


if __name__ == "__main__":
    main()

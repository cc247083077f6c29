/**
 * The PyTorch peer of the bench (issue 7: "the peer must be measured in the same run: these
 * machines are noisy"): the same step written with openai/CLIP's modules (clip/model.py
 * Transformer, ModifiedResNet), random weights, the SAME token ids (sent from Node, so no Python
 * tokenizer is needed), 16 normalised image features, CE at logit scale 1/0.07, torch.optim.AdamW
 * over every text parameter (the full token table, as PyTorch would). One python3 process per case,
 * so ru_maxrss is per case. Used only where `python3 -c 'import torch'` works.
 */
import { spawnSync } from 'node:child_process';

export const PYTORCH_SCRIPT = String.raw`
import json, sys, time, resource, math
from collections import OrderedDict
import torch, torch.nn as nn, torch.nn.functional as F

cfg = json.load(sys.stdin)
torch.manual_seed(0)
# the issue's anchor ran PyTorch with 2 threads; some builds start with 1 (OpenMP sees 1 core)
import os
torch.set_num_threads(int(os.environ.get('CLIPFACE_TORCH_THREADS', os.cpu_count() or 1)))

class QuickGELU(nn.Module):
    def forward(self, x): return x * torch.sigmoid(1.702 * x)

class Block(nn.Module):  # clip/model.py ResidualAttentionBlock
    def __init__(self, w, h, mask):
        super().__init__()
        self.attn, self.ln_1, self.ln_2 = nn.MultiheadAttention(w, h), nn.LayerNorm(w), nn.LayerNorm(w)
        self.mlp = nn.Sequential(OrderedDict([('c_fc', nn.Linear(w, 4 * w)), ('gelu', QuickGELU()), ('c_proj', nn.Linear(4 * w, w))]))
        self.mask = mask
    def forward(self, x):
        n = x.shape[0]
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.mask[:n, :n])[0]
        return x + self.mlp(self.ln_2(x))

class Text(nn.Module):  # CLIP.encode_text, RN50 sizes
    def __init__(self, W=512, L=12, H=8, ctx=77, vocab=49408, D=1024):
        super().__init__()
        mask = torch.full((ctx, ctx), float('-inf')).triu_(1)
        self.token_embedding = nn.Embedding(vocab, W)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.positional_embedding = nn.Parameter(torch.randn(ctx, W) * 0.01)
        self.blocks = nn.ModuleList([Block(W, H, mask) for _ in range(L)])
        self.ln_final = nn.LayerNorm(W)
        self.text_projection = nn.Parameter(torch.randn(W, D) * W ** -0.5)
    def forward(self, t):
        x = (self.token_embedding(t) + self.positional_embedding[:t.shape[1]]).permute(1, 0, 2)
        for b in self.blocks: x = b(x)
        x = self.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), t.argmax(dim=-1)] @ self.text_projection

class Bottleneck(nn.Module):  # clip/model.py Bottleneck
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(inp, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3, self.bn3 = nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.down = None
        if stride > 1 or inp != planes * 4:
            self.down = nn.Sequential(nn.AvgPool2d(stride), nn.Conv2d(inp, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4))
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.avgpool(F.relu(self.bn2(self.conv2(out))))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.down(x) if self.down is not None else x))

class ResNet(nn.Module):  # clip/model.py ModifiedResNet + AttentionPool2d, RN50
    def __init__(self, layers=(3, 4, 6, 3), width=64, D=1024, res=224, heads=32):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(),
            nn.Conv2d(width // 2, width // 2, 3, 1, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(),
            nn.Conv2d(width // 2, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.AvgPool2d(2))
        blocks, inp = [], width
        for i, n in enumerate(layers):
            for j in range(n):
                blocks.append(Bottleneck(inp, width * 2 ** i, 2 if (j == 0 and i > 0) else 1)); inp = width * 2 ** i * 4
        self.blocks = nn.Sequential(*blocks)
        C, g = width * 32, res // 32
        self.pos = nn.Parameter(torch.randn(g * g + 1, C) / C ** 0.5)
        self.q, self.k, self.v, self.c = nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, D)
        self.heads = heads
    def forward(self, x):
        x = self.blocks(self.stem(x)).flatten(2).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0) + self.pos[:, None, :]
        out, _ = F.multi_head_attention_forward(query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.heads,
            q_proj_weight=self.q.weight, k_proj_weight=self.k.weight, v_proj_weight=self.v.weight, in_proj_weight=None,
            in_proj_bias=torch.cat([self.q.bias, self.k.bias, self.v.bias]), bias_k=None, bias_v=None, add_zero_attn=False,
            dropout_p=0, out_proj_weight=self.c.weight, out_proj_bias=self.c.bias, use_separate_proj_weight=True,
            training=False, need_weights=False)
        return out.squeeze(0)

class ViT(nn.Module):  # clip/model.py VisionTransformer
    def __init__(self, res, patch, W, L, H, D):
        super().__init__()
        self.conv1 = nn.Conv2d(3, W, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(W) * W ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn((res // patch) ** 2 + 1, W) * W ** -0.5)
        self.ln_pre, self.ln_post = nn.LayerNorm(W), nn.LayerNorm(W)
        self.blocks = nn.ModuleList([Block(W, H, torch.zeros(1, 1)) for _ in range(L)])
        for b in self.blocks: b.mask = None
        self.proj = nn.Parameter(torch.randn(W, D) * W ** -0.5)
    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], dim=1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)
        for b in self.blocks:
            y = b.ln_1(x); x = x + b.attn(y, y, y, need_weights=False)[0]; x = x + b.mlp(b.ln_2(x))
        return self.ln_post(x[0]) @ self.proj

def peak_mib(): return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
runs = []
if cfg['case'] == 'text':
    model = Text()
    tokens = torch.tensor(cfg['tokens'], dtype=torch.long)
    if cfg['context'] == 'cut': tokens = tokens[:, :int(tokens.argmax(dim=-1).max()) + 1]
    img = F.normalize(torch.randn(16, 1024), dim=-1)
    labels = torch.tensor(cfg['labels'], dtype=torch.long)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=1e-3)
    for s in range(cfg['warmup'] + cfg['steps']):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy((1 / 0.07) * img @ F.normalize(model(tokens), dim=-1).t(), labels)
        loss.backward()
        opt.step()
        if s >= cfg['warmup']: runs.append((time.perf_counter() - t0) * 1000)
        print(f"pytorch {len(cfg['tokens'])} ids ({cfg['context']}): step {s + 1} {(time.perf_counter() - t0) * 1000:.0f} ms", file=sys.stderr)
    out = {'rows': int(tokens.numel())}
elif cfg['case'] == 'pretrain':
    # the teaching CLIP's step (lib/pretrain/train.ts): both towers, multi-positive CLIP loss with
    # hard-negative captions (columns after the photos' captions, image -> text only) plus the
    # same-person photo term (scale 10, self excluded), global-norm clipping, AdamW with
    # open_clip's no-decay group, learnable logit scale
    v, t = cfg['vision'], cfg['text']
    vis = ViT(v['image_size'], v['patch_size'], v['width'], v['layers'], v['width'] // v['head_width'], cfg['embed_dim'])
    txt = Text(W=t['width'], L=t['layers'], H=t['heads'], ctx=t['context_length'], vocab=t['vocab_size'], D=cfg['embed_dim'])
    logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    params = list(vis.named_parameters()) + list(txt.named_parameters())
    nodecay = [p for n, p in params if p.ndim < 2 or 'ln' in n or 'bias' in n] + [logit_scale]
    decay = [p for n, p in params if not (p.ndim < 2 or 'ln' in n or 'bias' in n)]
    opt = torch.optim.AdamW([{'params': nodecay, 'weight_decay': 0.}, {'params': decay, 'weight_decay': 0.1}], lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
    tokens = torch.tensor(cfg['tokens'], dtype=torch.long)
    tokens = tokens[:, :int(tokens.argmax(dim=-1).max()) + 1]
    n, k = cfg['photos'], tokens.shape[0] - cfg['photos']
    x = torch.rand(n, 3, v['image_size'], v['image_size']) * 2 - 1
    ids = torch.arange(n) // 2
    same = (ids[:, None] == ids[None, :]).float()
    pos = torch.cat([same, torch.zeros(n, k)], 1)
    other = same - torch.eye(n)
    for s in range(cfg['warmup'] + cfg['steps']):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        img = F.normalize(vis(x), dim=-1)
        logits = logit_scale.exp() * img @ F.normalize(txt(tokens), dim=-1).t()
        loss = 0.5 * (-(F.log_softmax(logits, 1) * pos / pos.sum(1, keepdim=True)).sum(1).mean()
                      - (F.log_softmax(logits[:, :n].t(), 1) * same / same.sum(1, keepdim=True)).sum(1).mean())
        if cfg['photo_weight']:
            sims = 10 * img @ img.t() - 1e9 * torch.eye(n)
            loss = loss + cfg['photo_weight'] * -(F.log_softmax(sims, 1) * other / other.sum(1, keepdim=True)).sum(1).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params] + [logit_scale], 1.0)
        opt.step()
        with torch.no_grad(): logit_scale.clamp_(0, math.log(100))
        if s >= cfg['warmup']: runs.append((time.perf_counter() - t0) * 1000)
        print(f"pytorch pretrain step {s + 1}: {(time.perf_counter() - t0) * 1000:.0f} ms, loss {loss.item():.4f}", file=sys.stderr)
    out = {'photos': n, 'pairsPerSec': round(n * 1000 / sorted(runs)[len(runs) // 2], 1)}
else:
    model = ResNet().eval()
    x = torch.randn(cfg['batch'], 3, 224, 224)
    with torch.no_grad():
        for r in range(cfg['reps'] + 1):
            t0 = time.perf_counter(); model(x)
            if r > 0: runs.append((time.perf_counter() - t0) * 1000)
    out = {'imagesPerSec': round(cfg['batch'] * 1000 / sorted(runs)[len(runs) // 2], 2), 'batch': cfg['batch']}
out.update({'ms': round(sorted(runs)[len(runs) // 2]), 'runs': [round(r) for r in runs], 'peakRssMiB': peak_mib(),
            'torch': torch.__version__, 'threads': torch.get_num_threads()})
print(json.dumps(out))
`;

/**
 * The interpreters tried for the PyTorch peer: $CLIPFACE_PYTHON, the python3 on PATH, and
 * Debian's /usr/bin/python3 (where `apt-get install python3-torch` puts torch; the python3 first
 * on PATH may be another one).
 */
const PYTHONS = [process.env.CLIPFACE_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
let python: string | undefined;

/** Why PyTorch cannot be measured here, or undefined when it can. */
export function pytorchUnavailable(): string | undefined {
  const why: string[] = [];
  for (const py of PYTHONS) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) { python = py; return undefined; }
    why.push(r.error ? `${py} not found` : `${py} -c 'import torch' failed: ${(r.stderr || '').trim().split('\n').pop()}`);
  }
  return why.join('; ');
}

/** Run one case in its own python3 process (`threads` torch threads; default all cores); the last stdout line is its JSON. */
export function runPytorchCase(input: Record<string, unknown>, log: (s: string) => void, threads?: number): Record<string, unknown> {
  if (!python && pytorchUnavailable()) throw new Error('no python with torch (see pytorchUnavailable)');
  const env = threads ? { ...process.env, CLIPFACE_TORCH_THREADS: String(threads) } : process.env;
  const r = spawnSync(python!, ['-c', PYTORCH_SCRIPT], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26, env });
  for (const line of (r.stderr || '').split('\n').filter(Boolean)) log(line);
  if (r.status !== 0) throw new Error(`pytorch case failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

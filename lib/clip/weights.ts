/**
 * Strict matching of a checkpoint against the architecture its config describes: every tensor
 * missing, unexpected or mis-shaped is reported at once (PyTorch's load_state_dict(strict=True)
 * report), so a wrong config/weights pair fails loudly instead of producing plausible garbage.
 * Key names are OpenAI's, which open_clip keeps for these towers.
 */
import { UserError } from '../util/errors.ts';
import { isResNet, type ClipConfig } from './config.ts';
import { resnetParamShapes } from './modified-resnet.ts';
import type { StateDict } from './safetensors.ts';
import { textParamShapes } from './text.ts';
import { vitParamShapes } from './vit.ts';

/** Every tensor a CLIP checkpoint of this config holds, with its PyTorch shape. */
export function expectedShapes(cfg: ClipConfig): Map<string, number[]> {
  const m = new Map<string, number[]>(textParamShapes(cfg));
  const vision = isResNet(cfg) ? resnetParamShapes(cfg) : vitParamShapes(cfg);
  for (const [n, s] of vision) m.set(`visual.${n}`, s);
  m.set('logit_scale', []);
  return m;
}

/** Keys OpenAI's JIT checkpoints carry that are not parameters (clip/model.py build_model deletes them). */
const IGNORED = /(^|\.)num_batches_tracked$|^(input_resolution|context_length|vocab_size)$|(^|\.)attn_mask$/;

export interface WeightReport { missing: string[]; unexpected: string[]; misShaped: string[] }

export function compareStateDict(sd: StateDict, cfg: ClipConfig): WeightReport {
  const expected = expectedShapes(cfg);
  const report: WeightReport = { missing: [], unexpected: [], misShaped: [] };
  for (const [name, shape] of expected) {
    const t = sd.get(name);
    if (!t) report.missing.push(name);
    else if (!t.data) report.misShaped.push(`${name} (integer dtype ${t.dtype})`);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      report.misShaped.push(`${name} [${t.shape}] (config expects [${shape}])`);
    }
  }
  for (const name of sd.keys()) if (!expected.has(name) && !IGNORED.test(name)) report.unexpected.push(name);
  return report;
}

function list(kind: string, names: string[]): string {
  if (!names.length) return '';
  const shown = names.slice(0, 4).join(', ');
  return `${names.length} ${kind} (${shown}${names.length > 4 ? ', …' : ''})`;
}

/** Throw one line naming the file, what does not match, and the likely fix. */
export function assertStateDictMatches(sd: StateDict, cfg: ClipConfig, file: string): void {
  const r = compareStateDict(sd, cfg);
  if (!r.missing.length && !r.unexpected.length && !r.misShaped.length) return;
  const parts = [list('missing', r.missing), list('unexpected', r.unexpected), list('mis-shaped', r.misShaped)].filter(Boolean);
  throw new UserError(`${file}: weights do not match the config: ${parts.join('; ')}; check that --config and --weights belong to the same model`);
}

/**
 * Prompt template sets as versioned JSON (experiments/prompts/*.json), the way open_clip keeps its
 * zero-shot templates as data (zero_shot_metadata.py). A grid axis `{"promptSet": "<file>"}`
 * expands into one run per template; the run records the set id, version and template id.
 *
 *   {"id": "paper", "version": 1, "description": "...", "source": "...",
 *    "templates": [{"id": "full", "template": "This is the image of a person named {name}"}, ...]}
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { checkUserJson } from '../util/json.ts';

export interface PromptTemplate { id: string; template: string }

export interface PromptSet {
  id: string;
  version: number;
  description?: string;
  source?: string;
  templates: PromptTemplate[];
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function loadPromptSet(path: string): PromptSet {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'prompt set not found' : (e as Error).message.split('\n')[0]}`);
  }
  const bad = (why: string): never => { throw new UserError(`${path}: invalid prompt set: ${why}`); };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) bad('expected a JSON object');
  checkUserJson(raw, path);
  const s = raw as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!['$schema', 'id', 'version', 'description', 'source', 'templates'].includes(k)) bad(`${k}: unknown key`);
  if (typeof s.id !== 'string' || !ID.test(s.id)) bad('id: a short name ([A-Za-z0-9._-])');
  if (!Number.isInteger(s.version) || (s.version as number) < 1) bad('version: an integer ≥ 1 (bump it when a template changes)');
  if (!Array.isArray(s.templates) || !s.templates.length) bad('templates: a non-empty list');
  const seen = new Set<string>();
  const templates = (s.templates as unknown[]).map((t, i) => {
    const o = t as Record<string, unknown>;
    if (!o || typeof o.id !== 'string' || !ID.test(o.id)) bad(`templates[${i}].id: a short name`);
    if (typeof o.template !== 'string' || !o.template.includes('{name}')) bad(`templates[${i}].template: a string with a {name} slot`);
    if (seen.has(o.id as string)) bad(`templates[${i}].id "${o.id}" is repeated`);
    seen.add(o.id as string);
    return { id: o.id as string, template: o.template as string };
  });
  return {
    id: s.id as string, version: s.version as number, templates,
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    ...(typeof s.source === 'string' ? { source: s.source } : {}),
  };
}

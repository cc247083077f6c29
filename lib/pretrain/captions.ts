/**
 * Captions of the pretraining corpus: what makes a synthetic identity, in words.
 *
 * Every facesjs identity part (head, eyes, eyebrows, nose, mouth, ears, hair style, facial hair)
 * gets a word of its own; hair and skin colour are named in a few bins (the three near-black hair
 * shades are one bin: a prototype that named them apart could not learn hair colour); gender; face
 * width and nose size in three bins. Per image: glasses, hat/headband, expression, view.
 *
 * A caption keeps each identity clause with probability 0.7 and shuffles them (attribute binding
 * needs attribute-dense captions, arXiv 2507.07985; short prompts must also be in distribution),
 * then drops clauses until it fits `maxTokens` BPE tokens. Names never occur: a person's name
 * means nothing to this model until the paper's finetune teaches it.
 */
import type { FaceConfig } from 'facesjs';
import type { SynthFace } from '../data/synth-face.ts';
import type { Rng } from '../util/rng.ts';
import { shuffled } from '../util/rng.ts';

/** What a caption can say about one identity (fixed for the person). */
export interface IdentityTraits {
  gender: 'man' | 'woman';
  skin: 'light' | 'medium' | 'dark';
  /** undefined for bald heads */
  hairColour?: 'black' | 'brown' | 'blond' | 'red';
  /** coarse class (the zero-shot gate's label) */
  hairClass: 'long' | 'short' | 'curly' | 'bald' | 'spiky';
  /** the hair style in words (one per facesjs hair id) */
  hairStyle: string;
  head: string;
  faceWidth: 'slim' | 'average' | 'wide';
  eyes: string;
  eyebrows: string;
  nose: string;
  noseSize: 'small' | 'medium' | 'large';
  mouth: string;
  ears: string;
  /** undefined = clean-shaven */
  facialHair?: string;
}

/** What varies per photo. */
export interface ImageFacts {
  glasses: boolean;
  headwear?: 'hat' | 'headband';
  expression: string;
  view: string;
  /** the expression replaced the identity's own mouth */
  mouthChanged: boolean;
}

// Words per facesjs id: an adjective per id, in the order of facesjs's sorted id list. The words
// are arbitrary but fixed: the model learns what they look like from the pictures.
const EYES = ['almond', 'round', 'narrow', 'wide', 'hooded', 'deep-set', 'upturned', 'downturned', 'sleepy', 'bright', 'small', 'large',
  'close-set', 'wide-set', 'heavy-lidded', 'droopy', 'catlike', 'doe', 'oval', 'slanted', 'thin', 'squinting', 'soft', 'sharp', 'lashy',
  'bold', 'gentle', 'tiny', 'big', 'curved', 'flat', 'pointed', 'heavy', 'dreamy', 'keen'];
const BROWS = ['arched', 'straight', 'bushy', 'thin', 'thick', 'angled', 'curved', 'flat', 'high', 'low', 'sparse', 'dense', 'short', 'long',
  'tapered', 'rounded', 'sharp', 'soft', 'heavy', 'light', 'wavy', 'raised', 'bold', 'faint', 'wide', 'narrow', 'peaked', 'hooked', 'uneven', 'neat'];
const HEADS = ['oval', 'round', 'square', 'heart-shaped', 'long', 'diamond', 'oblong', 'triangular', 'pear-shaped', 'angular', 'egg-shaped',
  'blocky', 'tall', 'short', 'tapered', 'domed', 'flat-topped', 'broad', 'compact', 'boxy', 'pointed'];
const NOSES = ['button', 'hooked', 'straight', 'snub', 'aquiline', 'bulbous', 'flat', 'pointed', 'upturned', 'roman', 'broad', 'thin', 'crooked',
  'rounded', 'long', 'wide', 'narrow'];
const MOUTHS = ['full', 'thin', 'wide', 'small', 'pouty', 'straight', 'crooked', 'smirking', 'heart-shaped', 'downturned', 'soft', 'tight',
  'broad', 'narrow', 'curved', 'flat', 'bow-shaped'];
const EARS = ['rounded', 'pointed', 'flat'];
const VARIANTS = ['', 'neat', 'loose', 'full', 'thick', 'thin', 'wavy', 'layered', 'sleek', 'tidy', 'choppy', 'feathered', 'swept'];

/** facesjs's id lists (svgsIndex, sorted as facesjs ships them); fixed here so words never move. */
const IDS = {
  eye: ['eye1', 'eye10', 'eye11', 'eye12', 'eye13', 'eye14', 'eye15', 'eye16', 'eye17', 'eye18', 'eye19', 'eye2', 'eye3', 'eye4', 'eye5', 'eye6', 'eye7', 'eye8', 'eye9',
    'female1', 'female10', 'female11', 'female12', 'female13', 'female14', 'female15', 'female16', 'female2', 'female3', 'female4', 'female5', 'female6', 'female7', 'female8', 'female9'],
  eyebrow: ['eyebrow1', 'eyebrow10', 'eyebrow11', 'eyebrow12', 'eyebrow13', 'eyebrow14', 'eyebrow15', 'eyebrow16', 'eyebrow17', 'eyebrow18', 'eyebrow19', 'eyebrow2', 'eyebrow20',
    'eyebrow3', 'eyebrow4', 'eyebrow5', 'eyebrow6', 'eyebrow7', 'eyebrow8', 'eyebrow9', 'female1', 'female10', 'female2', 'female3', 'female4', 'female5', 'female6', 'female7', 'female8', 'female9'],
  head: ['female1', 'female2', 'female3', 'head1', 'head10', 'head11', 'head12', 'head13', 'head14', 'head15', 'head16', 'head17', 'head18', 'head2', 'head3', 'head4', 'head5', 'head6', 'head7', 'head8', 'head9'],
  nose: ['honker', 'nose1', 'nose10', 'nose11', 'nose12', 'nose13', 'nose14', 'nose2', 'nose3', 'nose4', 'nose5', 'nose6', 'nose7', 'nose8', 'nose9', 'pinocchio', 'small'],
  mouth: ['angry', 'closed', 'mouth', 'mouth2', 'mouth3', 'mouth4', 'mouth5', 'mouth6', 'mouth7', 'mouth8', 'side', 'smile-closed', 'smile', 'smile2', 'smile3', 'smile4', 'straight'],
  ear: ['ear1', 'ear2', 'ear3'],
};

function wordFor(list: string[], ids: string[], id: string, part: string): string {
  const i = ids.indexOf(id);
  if (i < 0 || i >= list.length) throw new Error(`captions: no word for ${part} id "${id}" (facesjs version changed?)`);
  return list[i]!;
}

/** Hair: [coarse class, family phrase]; the variant adjective comes from the id's number. */
const HAIR: [RegExp, IdentityTraits['hairClass'], string][] = [
  [/^afro/, 'curly', 'afro'], [/^bald$/, 'bald', 'bald head'], [/^short-bald$/, 'bald', 'shaved head'], [/^blowoutFade$/, 'short', 'blowout fade'],
  [/^cornrows$/, 'short', 'cornrows'], [/^crop-fade/, 'short', 'crop fade'], [/^crop$/, 'short', 'cropped hair'], [/^curly\d?$/, 'curly', 'curly hair'],
  [/^curlyFade/, 'curly', 'curly fade'], [/^dreads$/, 'long', 'dreadlocks'], [/^emo$/, 'long', 'emo fringe'], [/^faux-?hawk/, 'spiky', 'faux hawk'],
  [/^female\d+$/, 'long', 'long hair'], [/^longHair$/, 'long', 'long hair'], [/^hair$/, 'short', 'tousled hair'], [/^high$/, 'short', 'high top'],
  [/^juice$/, 'short', 'flat top'], [/^messy/, 'short', 'messy hair'], [/^middle-part$/, 'short', 'middle part'], [/^parted$/, 'short', 'side part'],
  [/^shaggy/, 'long', 'shaggy hair'], [/^short-fade/, 'short', 'short fade'], [/^short\d?$/, 'short', 'short hair'], [/^shortBangs$/, 'short', 'bangs'],
  [/^spike/, 'spiky', 'spiky hair'], [/^tall-fade$/, 'short', 'tall fade'],
];

export function hairStyle(id: string): { hairClass: IdentityTraits['hairClass']; hairStyle: string } {
  const hit = HAIR.find(([re]) => re.test(id));
  if (!hit) throw new Error(`captions: no words for hair id "${id}"`);
  const n = Number(/(\d+)$/.exec(id)?.[1] ?? 0) + (id.includes('-2') ? 1 : 0);
  const variant = VARIANTS[n % VARIANTS.length]!;
  return { hairClass: hit[1], hairStyle: variant ? `${variant} ${hit[2]}` : hit[2] };
}

const FACIAL_HAIR_FAMILIES: [RegExp, string][] = [
  [/^beard-point/, 'pointed beard'], [/^beard/, 'beard'], [/^chin-strap/, 'chin strap beard'], [/^fullgoatee/, 'full goatee'],
  [/^goatee/, 'goatee'], [/^harl/, 'horseshoe mustache'], [/^honest-abe/, 'chin curtain beard'], [/^logan/, 'sideburn beard'],
  [/^mustache/, 'mustache'], [/^mutton/, 'mutton chops'], [/^neckbeard/, 'neckbeard'], [/^sideburns/, 'sideburns'],
  [/^soul/, 'soul patch'], [/^wilt/, 'long sideburns'],
];

/** Facial hair in words, from the facesjs id's parts (beard, goatee, mustache, sideburns, …). */
export function facialHairWords(id: string): string | undefined {
  if (id === 'none') return undefined;
  const f = FACIAL_HAIR_FAMILIES.find(([re]) => re.test(id));
  if (!f) throw new Error(`captions: no words for facial hair id "${id}"`);
  const extras: string[] = [];
  if (/[Ss]tache/.test(id) && !/^mustache|^harl/.test(id)) extras.push('mustache');
  if (/[Ss]oul/.test(id) && !/^soul/.test(id)) extras.push('soul patch');
  if (/SB\d|sb-\d/.test(id)) extras.push('sideburns');
  const n = Number(/(\d+)/.exec(id)?.[1] ?? 0);
  const variant = ['', 'thin', 'thick', 'short', 'trimmed', 'rough', 'long', 'neat', 'wide', 'sparse', 'dense', 'bold', 'light', 'dark', 'patchy', 'full', 'heavy', 'tidy', 'wild', 'groomed'][n % 20]!;
  return [variant, f[1]].filter(Boolean).join(' ') + (extras.length ? ` and ${extras.join(' and ')}` : '');
}

const hexRgb = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
const luma = ([r, g, b]: [number, number, number]) => 0.299 * r + 0.587 * g + 0.114 * b;

/** Hair colour bins: facesjs's eight near-black shades (#272421, #0f0902, #1c1008, #2C1608) are one. */
export function hairColourBin(hex: string): NonNullable<IdentityTraits['hairColour']> {
  const [r, g, b] = hexRgb(hex);
  if (luma([r, g, b]) < 45) return 'black';
  if (r > 150 && g < 110) return 'red';
  if (luma([r, g, b]) > 120) return 'blond';
  return 'brown';
}

export function skinBin(hex: string): IdentityTraits['skin'] {
  const l = luma(hexRgb(hex));
  return l > 175 ? 'light' : l > 120 ? 'medium' : 'dark';
}

const bin3 = <T>(x: number, lo: number, hi: number, names: [T, T, T]): T => (x < lo ? names[0] : x < hi ? names[1] : names[2]);

export function identityTraits(s: SynthFace): IdentityTraits {
  const f: FaceConfig = s.face;
  const hair = hairStyle(f.hair.id);
  return {
    gender: s.gender === 'male' ? 'man' : 'woman',
    skin: skinBin(f.body.color),
    ...(hair.hairClass === 'bald' ? {} : { hairColour: hairColourBin(f.hair.color) }),
    ...hair,
    head: wordFor(HEADS, IDS.head, f.head.id, 'head'),
    faceWidth: bin3(f.fatness, 0.25, 0.6, ['slim', 'average', 'wide']),
    eyes: wordFor(EYES, IDS.eye, f.eye.id, 'eye'),
    eyebrows: wordFor(BROWS, IDS.eyebrow, f.eyebrow.id, 'eyebrow'),
    nose: wordFor(NOSES, IDS.nose, f.nose.id, 'nose'),
    noseSize: bin3(f.nose.size, 0.72, 0.95, ['small', 'medium', 'large']),
    mouth: wordFor(MOUTHS, IDS.mouth, f.mouth.id, 'mouth'),
    ears: wordFor(EARS, IDS.ear, f.ear.id, 'ear'),
    ...(facialHairWords(f.facialHair.id) ? { facialHair: facialHairWords(f.facialHair.id)! } : {}),
  };
}

const EXPRESSION_WORDS: Record<string, string> = {
  neutral: 'with a neutral expression', smile: 'smiling', grin: 'grinning', open: 'with an open mouth',
  frown: 'frowning', closed: 'with closed lips', blink: 'with eyes closed',
};
const VIEW_WORDS: Record<string, string> = {
  front: 'seen from the front', above: 'seen from above', below: 'seen from below', left: 'turned to the left', right: 'turned to the right', other: 'at an angle',
};

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/**
 * The identity's noun phrases (each follows "a man with …"): hair colour and class, hair style,
 * skin, head, face width, eyes, eyebrows, nose, ears, facial hair, mouth (unless the photo's
 * expression replaced it). Men without facial hair are "clean-shaven" instead (a predicate).
 */
export function identityPhrases(t: IdentityTraits, facts?: ImageFacts): { nouns: string[]; predicates: string[] } {
  const nouns = [
    t.hairClass === 'bald' ? 'a bald head' : `${t.hairColour} ${t.hairClass} hair`, t.hairStyle, `${t.skin} skin`,
    `${article(t.head)} ${t.head} head`, `${article(t.faceWidth)} ${t.faceWidth} face`, `${t.eyes} eyes`, `${t.eyebrows} eyebrows`,
    `a ${t.noseSize} ${t.nose} nose`, `${t.ears} ears`,
  ];
  const predicates: string[] = [];
  if (t.gender === 'man') { if (t.facialHair) nouns.push(`${article(t.facialHair)} ${t.facialHair}`); else predicates.push('clean-shaven'); }
  if (!facts?.mouthChanged) nouns.push(`${article(t.mouth)} ${t.mouth} mouth`);
  return { nouns, predicates };
}

/** Every phrase a caption of this identity can use (the text tower's training vocabulary). */
export function identityClauses(t: IdentityTraits, facts?: ImageFacts): string[] {
  const { nouns, predicates } = identityPhrases(t, facts);
  return [...nouns.map((n) => `with ${n}`), ...predicates];
}

/** What a caption states about its own photo: another photo of the person matches it only if it agrees. */
export interface CaptionClaims {
  glasses?: boolean;
  headwear?: 'hat' | 'headband' | 'none';
  expression?: string;
  view?: string;
  /** the caption describes the identity's own mouth (false for photos whose expression replaced it) */
  mouth?: boolean;
  /** "a man" / "a woman" (absent for "a person") */
  gender?: IdentityTraits['gender'];
  /** the identity phrases the caption kept ("black short hair", "clean-shaven", …) */
  phrases?: string[];
}

/**
 * May caption `c` describe a photo of ANOTHER identity `t` (facts `f`)? Yes when it states nothing
 * the photo contradicts: same gender word, every identity phrase it kept is one of t's, and its
 * per-photo claims agree. A short caption ("a man with a goatee, without a hat") describes many
 * people; counting them as negatives would teach the text tower that it does not (CLIP's
 * false-negative problem), so batches.ts marks them positive. Full captions keep ~10 phrases and
 * match no one else in practice.
 */
export function describes(t: IdentityTraits, f: ImageFacts, c: CaptionClaims): boolean {
  if (c.gender !== undefined && c.gender !== t.gender) return false;
  if (!agrees(f, c)) return false;
  if (!c.phrases?.length) return true;
  const { nouns, predicates } = identityPhrases(t, f);
  const own = new Set([...nouns, ...predicates]);
  return c.phrases.every((p) => own.has(p));
}

/** Does photo `f` agree with everything a caption claims about its photo? */
export function agrees(f: ImageFacts, c: CaptionClaims): boolean {
  if (c.glasses !== undefined && c.glasses !== f.glasses) return false;
  if (c.headwear !== undefined && c.headwear !== (f.headwear ?? 'none')) return false;
  if (c.expression !== undefined && c.expression !== f.expression) return false;
  if (c.view !== undefined && c.view !== f.view) return false;
  if (c.mouth && f.mouthChanged) return false;
  return true;
}

/** Per-image clauses; occluders are named when present (p 0.9) and sometimes denied when absent. */
function imageClauses(f: ImageFacts, rng: Rng): [string, CaptionClaims][] {
  const out: [string, CaptionClaims][] = [];
  if (f.glasses ? rng() < 0.9 : rng() < 0.25) out.push([f.glasses ? 'wearing glasses' : 'without glasses', { glasses: f.glasses }]);
  // absence is said often (p 0.5): with p 0.15 the zero-shot "without a hat" probe was the weak
  // side (hatless photos 70 % right, hats 90 %), a negation the text tower had rarely read
  if (f.headwear ? rng() < 0.9 : rng() < 0.5) out.push([f.headwear ? `wearing a ${f.headwear}` : 'without a hat', { headwear: f.headwear ?? 'none' }]);
  if (rng() < 0.3) out.push([EXPRESSION_WORDS[f.expression] ?? 'with a neutral expression', { expression: f.expression }]);
  if (rng() < 0.25) out.push([VIEW_WORDS[f.view] ?? 'at an angle', { view: f.view }]);
  return out;
}

/**
 * One caption for one photo, and what it claims about that photo: "a man with black short hair,
 * neat crop fade, light skin, …, wearing glasses". Three in four captions describe the whole
 * identity (each phrase kept with p 0.9, order shuffled: every caption tells people apart, which is
 * what the image tower learns from); one in four keeps 1–4 phrases, so that short prompts such as
 * "a person with black hair" are in distribution. `countTokens` is the BPE count without SOT/EOT;
 * random identity phrases are dropped until the caption fits `maxTokens`.
 */
export function caption(t: IdentityTraits, f: ImageFacts, rng: Rng, countTokens: (s: string) => number, maxTokens = 50): { text: string; claims: CaptionClaims; draft: CaptionDraft } {
  const subject = rng() < 0.2 ? 'a person' : `a ${t.gender}`;
  const { nouns, predicates } = identityPhrases(t, f);
  const mouthPhrase = !f.mouthChanged ? `${article(t.mouth)} ${t.mouth} mouth` : undefined;
  let ident: [string, boolean][] = [...nouns.map((n) => [n, true] as [string, boolean]), ...predicates.map((p) => [p, false] as [string, boolean])];
  if (rng() < 0.25) ident = shuffled(rng, ident).slice(0, 1 + Math.floor(rng() * 4));
  else ident = shuffled(rng, ident.filter(() => rng() < 0.9));
  const draft: CaptionDraft = { subject, ident, extra: shuffled(rng, imageClauses(f, rng)) };
  while (ident.length > 1 && countTokens(renderCaption(draft)) > maxTokens) ident.splice(Math.floor(rng() * ident.length), 1);
  const claims: CaptionClaims = Object.assign({}, ...draft.extra.map((x) => x[1]));
  if (mouthPhrase && ident.some((x) => x[0] === mouthPhrase)) claims.mouth = true;
  if (subject !== 'a person') claims.gender = t.gender;
  claims.phrases = ident.map((x) => x[0]);
  return { text: renderCaption(draft), claims, draft };
}

/** A caption before it is written out: subject, identity phrases (true = noun after "with"), per-photo clauses. */
export interface CaptionDraft { subject: string; ident: [string, boolean][]; extra: [string, CaptionClaims][] }

/** "a man with n1, n2, …, predicate, clause, …" */
export function renderCaption(d: CaptionDraft): string {
  const ns = d.ident.filter((x) => x[1]).map((x) => x[0]);
  const ps = [...d.ident.filter((x) => !x[1]).map((x) => x[0]), ...d.extra.map((x) => x[0])];
  const head = ns.length ? `${d.subject} with ${ns.join(', ')}` : d.subject;
  return ps.length ? `${head}${ns.length ? ',' : ''} ${ps.join(', ')}` : head;
}

const STYLES_LONGEST_FIRST = FACIAL_HAIR_FAMILIES.map((f) => f[1]).sort((a, b) => b.length - a.length);

/**
 * A man's facial-hair style without its variant word or extras ("thin goatee and mustache" →
 * "goatee"), "clean-shaven" for none: how the zero-shot facial-hair gate is broken down. A
 * variant word can make two styles read alike ("full" + "goatee", "long" + "sideburns"): the
 * longer style name takes them, as a reader of the caption would.
 */
export function facialHairStyle(t: IdentityTraits): string | undefined {
  if (t.gender !== 'man') return undefined;
  if (!t.facialHair) return 'clean-shaven';
  const main = t.facialHair.split(' and ')[0]!;
  return STYLES_LONGEST_FIRST.find((w) => main.endsWith(w)) ?? main;
}

/** The noun phrase a man's facial hair takes in captions ("a neat goatee"), or undefined for none. */
export const facialHairNoun = (facialHair: string | undefined) => (facialHair ? `${article(facialHair)} ${facialHair}` : undefined);

/**
 * A hard negative caption (NegCLIP, Yuksekgonul et al. 2023, arXiv 2210.01936): the same caption
 * with its facial-hair phrase swapped, "a neat goatee" → "clean-shaven" and "clean-shaven" → a
 * facial-hair phrase drawn from `pool`. Why: in a batch of 128 full descriptions the facial-hair
 * phrase almost never decides which caption is a photo's, so the image tower learned to miss small
 * styles (goatees, mustaches: the zero-shot facial-hair gate, MODEL_CARD.md); a caption that differs
 * only there makes it decide. undefined when the caption names neither (women, short captions).
 */
export function facialHairNegative(t: IdentityTraits, d: CaptionDraft, claims: CaptionClaims, pool: readonly string[], rng: Rng): { text: string; claims: CaptionClaims } | undefined {
  if (t.gender !== 'man' || !pool.length) return undefined;
  const own = facialHairNoun(t.facialHair) ?? 'clean-shaven';
  const k = d.ident.findIndex((x) => x[0] === own);
  if (k < 0) return undefined;
  const swap: [string, boolean] = t.facialHair ? ['clean-shaven', false] : [pool[Math.floor(rng() * pool.length)]!, true];
  const ident = d.ident.map((x, i) => (i === k ? swap : x));
  return { text: renderCaption({ ...d, ident }), claims: { ...claims, phrases: ident.map((x) => x[0]) } };
}

/**
 * Zero-shot attribute probes: each label's prompts are averaged (normalised text embeddings, as
 * open_clip's build_zero_shot_classifier averages templates) and an image takes the closest label.
 */
export interface AttributeProbe {
  name: string;
  /** per image, the true label (undefined: not applicable, e.g. hair colour of a bald head) */
  label: (t: IdentityTraits, f: ImageFacts) => string | undefined;
  prompts: Record<string, string[]>;
  /** optional finer truth to break the accuracy down by (facial hair: the style) */
  group?: (t: IdentityTraits, f: ImageFacts) => string | undefined;
}

export const ATTRIBUTE_PROBES: AttributeProbe[] = [
  { name: 'gender', label: (t) => t.gender, prompts: { man: ['a man'], woman: ['a woman'] } },
  { name: 'glasses', label: (_, f) => (f.glasses ? 'yes' : 'no'), prompts: { yes: ['a person wearing glasses'], no: ['a person without glasses'] } },
  {
    name: 'facial hair (men)', label: (t) => (t.gender !== 'man' ? undefined : t.facialHair ? 'yes' : 'no'),
    prompts: { yes: ['a man with a beard', 'a man with a goatee', 'a man with a mustache', 'a man with sideburns'], no: ['a man clean-shaven'] },
    group: (t) => facialHairStyle(t),
  },
  { name: 'headwear', label: (_, f) => (f.headwear ? 'yes' : 'no'), prompts: { yes: ['a person wearing a hat', 'a person wearing a headband'], no: ['a person without a hat'] } },
  {
    name: 'hair colour', label: (t) => t.hairColour,
    prompts: { black: ['a person with black hair'], brown: ['a person with brown hair'], blond: ['a person with blond hair'], red: ['a person with red hair'] },
  },
  { name: 'skin', label: (t) => t.skin, prompts: { light: ['a person with light skin'], medium: ['a person with medium skin'], dark: ['a person with dark skin'] } },
  {
    name: 'hair style', label: (t) => t.hairClass,
    prompts: { long: ['a person with long hair'], short: ['a person with short hair'], curly: ['a person with curly hair'], bald: ['a person with a bald head'], spiky: ['a person with spiky hair'] },
  },
];

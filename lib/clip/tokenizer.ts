/**
 * CLIP's tokenizer, id-for-id identical to OpenAI's `clip.tokenize` (github openai/CLIP commit
 * d05afc436d78: clip/simple_tokenizer.py `SimpleTokenizer`, clip/clip.py `tokenize`).
 *
 * As in SimpleTokenizer.encode: clean the text (ftfy.fix_text → html.unescape twice → collapse
 * whitespace → strip → lower case), split it with CLIP's regex, spell each piece's UTF-8 bytes with
 * printable stand-in characters (bytes_to_unicode) and merge those with byte-level BPE: 48 894
 * merges from bpe_simple_vocab_16e6.txt.gz (MIT, OpenAI; models/), 49 408 ids in all.
 * The golden sets (golden.json `prompts`) hold the Python output of every stage; test/tokenizer.test.ts
 * checks them all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeHTML, decodeHTMLStrict } from 'entities';
import { UserError } from '../util/errors.ts';

export const SOT = 49406; // <|startoftext|>
export const EOT = 49407; // <|endoftext|>: the largest id, so the model finds it with argmax
export const DEFAULT_VOCAB_PATH = fileURLToPath(new URL('../../models/bpe_simple_vocab_16e6.txt.gz', import.meta.url));
const N_MERGES = 49152 - 256 - 2; // merges = lines[1:49152-256-2+1]: 48 894 lines after the header

// ------------------------------------------------------------------------------------------ cleaning
//
// `ftfy.fix_text` (ftfy 6.3.1 made the golden data) minus one part: `fix_encoding`, its mojibake repair
// ("cafÃ©" → "café", plus restore_byte_a0 / replace_lossy_sequences / decode_inconsistent_utf8). That is
// a heuristic over ~1000 lines and character-class tables, meant for text that was decoded with the
// wrong codec somewhere upstream. Our prompts are typed by people and read as UTF-8, so they have no
// mojibake, and ftfy is built to leave such text alone. A prompt that did contain mojibake would be
// tokenized as written (the garbled letters), a quality issue rather than a failure.
// Every other fixer ftfy runs by default is reproduced below, in ftfy's order.

/** Windows-1252 for 0x80–0x9F (undefined bytes stay C1), as Python's html._invalid_charrefs and ftfy's
 * sloppy-windows-1252 have it. Spelled out because Node 20's TextDecoder('windows-1252') decodes Latin-1. */
const CP1252_C1 =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

/** Python's html.unescape (Lib/html/__init__.py): its reference pattern and numeric rules. Named
 * references go through `entities`, whose WHATWG "legacy" rules (`&amp` without `;`, longest known
 * prefix of an unknown name) are the ones Python implements. */
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(CHARREF, (whole, ref: string) => (ref[0] === '#' ? numericCharref(ref) : decodeHTML(whole)));
}
function numericCharref(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  const cp = parseInt(ref.slice(hex ? 2 : 1), hex ? 16 : 10); // parseInt stops at the ';'
  if (cp === 0) return '\ufffd';
  if (cp === 0x0d) return '\r';
  if (cp >= 0x80 && cp <= 0x9f) return CP1252_C1[cp - 0x80];
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
  // Python's _invalid_codepoints (controls other than whitespace, noncharacters) decode to nothing.
  const invalid = cp <= 0x08 || cp === 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp === 0x7f ||
    (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(cp);
}

/** ftfy's unescape_html (fixes.py _unescape_fixup): only complete `&name;` / `&#n;` references, and also
 * all-caps spellings of lower-case names (`&EACUTE;` → É) unless html.unescape reads those differently. */
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
function ftfyEntity(m: string): string {
  if (m[1] === '#') {
    const u = htmlUnescape(m);
    return u.includes(';') ? m : u; // decoded only part of it: leave it
  }
  const exact = decodeHTMLStrict(m);
  if (exact !== m) return exact;
  const lower = m.toLowerCase();
  const fromLower = decodeHTMLStrict(lower);
  return m === m.toUpperCase() && fromLower !== lower && htmlUnescape(m) === m ? fromLower.toUpperCase() : m;
}

/** ftfy's LIGATURES table is these characters' NFKC form, except that ﬅ keeps its long s. */
const LIGATURE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
const unligature = (c: string) => (c === '\ufb05' ? '\u017ft' : c.normalize('NFKC'));

/** One fix_and_explain segment (ftfy/__init__.py): the fixers in ftfy's order, repeated until nothing changes. */
function ftfySegment(text: string, unescape: boolean): string {
  for (;;) {
    const before = text;
    if (unescape) text = text.replace(FTFY_ENTITY, ftfyEntity); // unescape_html
    text = text
      .replace(/[\x80-\x9f]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80]) // fix_c1_controls
      .replace(LIGATURE, unligature) // fix_latin_ligatures
      .replace(/[\u3000\uff01-\uffef]/g, (c) => c.normalize('NFKC')) // fix_character_width: ＡＢ → AB
      .replace(/[\u201c-\u201f]/g, '"') // uncurl_quotes: “ ” „ ‟ (not the double prime ″)
      .replace(/[\u02bc\u2018-\u201b]/g, "'") // ʼ ‘ ’ ‚ ‛ (not the prime ′)
      .replace(/\r\n|[\r\u2028\u2029\x85]/g, '\n') // fix_line_breaks
      .replace(/\p{Cs}/gu, '\ufffd') // fix_surrogates: only lone halves; a JS pair already is one character
      .replace(/\x1b\[[\p{Nd};]*[a-zA-Z]/gu, '') // remove_terminal_escapes
      .replace(/[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, '') // remove_control_chars
      .normalize('NFC'); // normalization="NFC": a decomposed "Trần" tokenizes like the composed one
    if (text === before) return text;
  }
}

/** ftfy.fix_text: line by line; from the first line holding a '<' on, entities are left for
 * html.unescape (unescape_html="auto" takes '<' as a sign of HTML markup). */
function ftfyFixText(text: string): string {
  let unescape = true;
  return text.split(/(?<=\n)/).map((line) => {
    if (line.includes('<')) unescape = false;
    return ftfySegment(line, unescape);
  }).join('');
}

/** whitespace_clean(basic_clean(text)).lower(), the text CLIP actually splits into tokens. The `regex`
 * module's \s is Unicode White_Space; Python's strip() also drops \x1c–\x1f, which ftfy already removed. */
export function cleanText(text: string): string {
  const unescaped = htmlUnescape(htmlUnescape(ftfyFixText(text)));
  return unescaped.replace(/\p{White_Space}+/gu, ' ').replace(/^ | $/g, '').toLowerCase();
}

// ------------------------------------------------------------------------------------------ BPE

/** bytes_to_unicode(): a printable stand-in for every byte (printable Latin-1 bytes stand for
 * themselves, the other 68 get U+0100…U+0143), so BPE never sees whitespace or control characters.
 * Ids 0–255 follow this order: printable bytes first, then the rest in byte order. */
function bytesToUnicode(): [number, string][] {
  const bs: number[] = [];
  for (const [lo, hi] of [[0x21, 0x7e], [0xa1, 0xac], [0xae, 0xff]]) for (let b = lo; b <= hi; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  return bs.map((b, i) => [b, String.fromCharCode(cs[i])]);
}
const BYTE_PAIRS = bytesToUnicode();
const BYTE_ENCODER: string[] = [];
for (const [b, c] of BYTE_PAIRS) BYTE_ENCODER[b] = c;
const BYTE_DECODER = new Map(BYTE_PAIRS.map(([b, c]) => [c, b]));

/** SimpleTokenizer.pat with IGNORECASE ('i'). The text is lower case by now; 'i' still matters for the
 * long s: "'ſ" matches 's, as in Python. The regex module's \s is Unicode White_Space. */
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\p{White_Space}\p{L}\p{N}]+/giu;
const UTF8 = new TextEncoder();

export class ClipTokenizer {
  private static readonly loaded = new Map<string, ClipTokenizer>();
  private readonly encoder = new Map<string, number>();
  private readonly decoder: string[];
  private readonly ranks = new Map<string, number>(); // "first second" (a merges line) → priority
  private readonly cache = new Map<string, string[]>( // the special tokens pass bpe() whole, as in Python
    ['<|startoftext|>', '<|endoftext|>'].map((t) => [t, [t]]));

  private constructor(merges: string[]) {
    const chars = BYTE_PAIRS.map(([, c]) => c);
    this.decoder = [...chars, ...chars.map((c) => c + '</w>'), ...merges.map((m) => m.replace(' ', '')),
      '<|startoftext|>', '<|endoftext|>'];
    this.decoder.forEach((piece, id) => this.encoder.set(piece, id));
    merges.forEach((m, rank) => this.ranks.set(m, rank));
  }

  /** Reads bpe_simple_vocab_16e6.txt.gz (default: the copy in models/); one instance per file. */
  static load(vocabPath: string = DEFAULT_VOCAB_PATH): ClipTokenizer {
    const path = resolve(vocabPath);
    if (ClipTokenizer.loaded.has(path)) return ClipTokenizer.loaded.get(path)!;
    const fix = 'Restore models/bpe_simple_vocab_16e6.txt.gz (git checkout -- models/) or point to another copy ' +
      "of CLIP's bpe_simple_vocab_16e6.txt.gz (github openai/CLIP, clip/; CLI: --vocab <file>).";
    if (!existsSync(path)) throw new UserError(`CLIP BPE vocabulary not found: ${path}. ${fix}`);
    let lines: string[];
    try {
      lines = new TextDecoder('utf-8', { fatal: true }).decode(gunzipSync(readFileSync(path))).split('\n');
    } catch (e) {
      throw new UserError(`CLIP BPE vocabulary ${path} is not a gzipped UTF-8 text file (${(e as Error).message}). ${fix}`);
    }
    const merges = lines.slice(1, 1 + N_MERGES);
    const bad = merges.findIndex((m) => !/^[^ ]+ [^ ]+$/.test(m));
    if (merges.length < N_MERGES || bad >= 0) {
      const what = bad >= 0 ? `line ${bad + 2} is ${JSON.stringify(merges[bad].slice(0, 40))}` : `it has ${merges.length}`;
      throw new UserError(`CLIP BPE vocabulary ${path} is corrupt: expected ${N_MERGES} merge lines "a b" after the header, ${what}. ${fix}`);
    }
    const tokenizer = new ClipTokenizer(merges);
    ClipTokenizer.loaded.set(path, tokenizer);
    return tokenizer;
  }

  /** SimpleTokenizer.bpe: repeatedly merge the adjacent pair that was learned first, everywhere in the
   * word, left to right; a word's last symbol carries the end-of-word mark '</w>'. */
  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = [...token.slice(0, -1), token.slice(-1) + '</w>'];
    while (word.length > 1) {
      let [best, bestRank] = [-1, Infinity]; // position of the pair learned first
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) break;
      const [first, second] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  /** The BPE pieces of the cleaned text, e.g. "Thao" → ["th", "ao</w>"] (golden `bpe_pieces`). */
  bpePieces(text: string): string[] {
    const pieces: string[] = [];
    // U+0345 (combining ypogegrammeni) case-folds to the letter ι: with IGNORECASE, JS counts it as a
    // letter while the `regex` module matches it with no branch and skips it, so it separates words.
    for (const part of cleanText(text).split('\u0345')) {
      for (const [word] of part.matchAll(PATTERN)) {
        pieces.push(...this.bpe(Array.from(UTF8.encode(word), (b) => BYTE_ENCODER[b]).join('')));
      }
    }
    return pieces;
  }

  /** SimpleTokenizer.encode: token ids without SOT/EOT (golden `ids_without_sot_eot`). */
  encode(text: string): number[] {
    return this.bpePieces(text).map((piece) => this.encoder.get(piece)!); // bpe() only builds vocabulary pieces
  }

  /** clip.tokenize: SOT + ids + EOT, zero-padded to contextLength. Too long: with `truncate` keep the first
   * contextLength ids and make the last one EOT (clip.tokenize(truncate=True), our default; OpenAI's default
   * is False), else throw. eotIndex[i] = argmax of row i, where CLIP.encode_text reads the text feature. */
  tokenize(texts: string[], contextLength = 77, truncate = true): { tokens: Int32Array[]; eotIndex: number[] } {
    const tokens: Int32Array[] = [];
    const eotIndex: number[] = [];
    for (const text of texts) {
      let ids = [SOT, ...this.encode(text), EOT];
      if (ids.length > contextLength) {
        if (!truncate) {
          const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
          throw new UserError(`prompt ${JSON.stringify(shown)} is ${ids.length} tokens long with start/end tokens, ` +
            `more than the context length ${contextLength}: shorten it, or tokenize with truncation`);
        }
        ids = ids.slice(0, contextLength);
        ids[contextLength - 1] = EOT;
      }
      const row = new Int32Array(contextLength);
      row.set(ids);
      tokens.push(row);
      eotIndex.push(row.indexOf(Math.max(...ids))); // first maximum, like torch.argmax
    }
    return { tokens, eotIndex };
  }

  /** SimpleTokenizer.decode: pieces → bytes → UTF-8 (bad bytes → U+FFFD), '</w>' → ' '. */
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (const id of Array.from(ids)) {
      const piece = this.decoder[id];
      if (piece === undefined) throw new UserError(`token id ${id} is not in CLIP's vocabulary (0..${this.decoder.length - 1})`);
      for (const ch of piece) bytes.push(BYTE_DECODER.get(ch)!);
    }
    // ignoreBOM keeps a leading U+FEFF, as Python's bytes.decode does.
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes)).replaceAll('</w>', ' ');
  }
}

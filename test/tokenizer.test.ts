/**
 * lib/clip/tokenizer.ts against OpenAI's clip.tokenize: every stage of every golden prompt (cleaned
 * text, BPE pieces, ids, the 77-id rows, EOT index) in both golden sets, then the behaviour around it.
 * Expected values outside golden.json were produced by OpenAI's simple_tokenizer.py with ftfy 6.3.1
 * and regex, the versions the golden generator used.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ClipTokenizer, cleanText, DEFAULT_VOCAB_PATH, EOT, SOT } from '../lib/clip/tokenizer.ts';
import { UserError } from '../lib/util/errors.ts';
import { golden, goldenSets } from './helpers/golden.ts';

const tok = ClipTokenizer.load();

// the ViT set is only beside the checkout (../shared/golden); its prompts are the same as the RN set's
for (const set of goldenSets()) {
  describe(`golden ${set}: same as clip.tokenize`, () => {
    const { prompts, tokens: table } = golden(set);

    it('holds the prompts and the SOT/EOT ids we use', () => {
      assert.deepEqual(table.shape, [prompts.length, 77]);
      assert.equal(table.sot, SOT);
      assert.equal(table.eot, EOT);
    });

    for (const p of prompts) {
      it(`prompt ${p.index}: ${JSON.stringify(p.text).slice(0, 60)}`, () => {
        assert.equal(cleanText(p.text), p.cleaned, 'cleaned');
        assert.deepEqual(tok.bpePieces(p.text), p.bpe_pieces, 'bpe_pieces');
        assert.deepEqual(tok.encode(p.text), p.ids_without_sot_eot, 'ids_without_sot_eot');
        assert.equal(p.ids_without_sot_eot.length + 2, p.n_tokens_with_sot_eot);
        const { tokens, eotIndex } = tok.tokenize([p.text]);
        assert.deepEqual(Array.from(tokens[0]), p.tokens, 'tokens');
        assert.equal(eotIndex[0], p.eot_index, 'eot_index');
      });
    }

    it('tokenizes all prompts as one batch, the long one truncated', () => {
      const { tokens, eotIndex } = tok.tokenize(prompts.map((p: any) => p.text));
      assert.deepEqual(tokens.map((row) => Array.from(row)), prompts.map((p: any) => p.tokens));
      assert.deepEqual(eotIndex, prompts.map((p: any) => p.eot_index));
      const long = prompts.find((p: any) => p.truncated);
      assert.ok(long, 'the golden set has a prompt longer than 77 tokens');
      assert.equal(tokens[long.index][76], EOT);
    });
  });
}

describe('cleaning (ftfy.fix_text + html.unescape x2 + whitespace + lower)', () => {
  it('tokenizes decomposed (NFD) text like the composed (NFC) form', () => {
    assert.deepEqual(tok.encode('Tra\u0302\u0300n Thi\u0323 Bi\u0301ch'), tok.encode('Trần Thị Bích'));
    assert.deepEqual(tok.encode('cafe\u0301'), [15304]);
    assert.deepEqual(tok.encode('caf\u00e9'), [15304]);
  });

  it("straightens the quotes ftfy's uncurl_quotes knows, and leaves primes alone", () => {
    assert.equal(cleanText('\u201ea\u201f \u201ab\u201b \u02bcc 5\u2032 6\u2033'), `"a" 'b' 'c 5\u2032 6\u2033`);
  });

  it('unescapes HTML like ftfy (to a fixed point) and then html.unescape twice', () => {
    assert.equal(cleanText('&amp;amp;amp; &EACUTE; &#x41;&#65 &GTDOT;'), '& é aa >dot;');
    // A '<' makes ftfy leave entities alone; only the two html.unescape calls remain.
    assert.equal(cleanText('<b> &amp;amp;amp;'), '<b> &amp;');
  });

  it('undoes fullwidth forms and Latin ligatures, collapses whitespace', () => {
    assert.equal(cleanText('  ＬＯＵＤ\t\u00a0ﬁne \n'), 'loud fine');
  });

  it('splits words at U+0345 as the regex module does', () => {
    assert.deepEqual(tok.bpePieces('a\u0345b'), ['a</w>', 'b</w>']);
  });

  it('keeps a literal <|endoftext|> as the special token, as OpenAI does', () => {
    assert.deepEqual(tok.encode('a <|endoftext|> b'), [320, EOT, 321]);
  });
});

describe('tokenize and decode', () => {
  const long = 'a photo of ' + Array.from({ length: 40 }, (_, i) => `person ${i}`).join(', ');

  it('throws a UserError naming the prompt and its length when truncate=false', () => {
    const n = tok.encode(long).length + 2;
    assert.ok(n > 77);
    assert.throws(() => tok.tokenize(['ok', long], 77, false), (e: unknown) =>
      e instanceof UserError && e.message.includes('"a photo of person 0, person 1') && e.message.includes(`${n} tokens`));
    assert.doesNotThrow(() => tok.tokenize(['a photo of thao'], 77, false));
  });

  it('honours another context length', () => {
    const { tokens, eotIndex } = tok.tokenize(['thao', 'a photo of thao'], 5);
    assert.deepEqual(Array.from(tokens[0]), [SOT, 513, 5703, EOT, 0]);
    assert.deepEqual(Array.from(tokens[1]), [SOT, 320, 1125, 539, EOT]);
    assert.deepEqual(eotIndex, [3, 4]);
  });

  it('decodes ids back to the cleaned text, words ending in a space', () => {
    const ids = tok.encode('A photo of Trần Thị Bích!');
    assert.equal(tok.decode(ids), 'a photo of trần thị bích ! ');
    assert.equal(tok.decode([SOT, ...ids, EOT]), '<|startoftext|>a photo of trần thị bích ! <|endoftext|>');
    assert.throws(() => tok.decode([49408]), UserError);
  });
});

describe('vocabulary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clip-vocab-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads once per path', () => {
    assert.equal(ClipTokenizer.load(DEFAULT_VOCAB_PATH), tok);
  });

  it('names a missing file and the fix', () => {
    const missing = join(dir, 'nope.txt.gz');
    assert.throws(() => ClipTokenizer.load(missing), (e: unknown) =>
      e instanceof UserError && e.message.includes(missing) && e.message.includes('--vocab'));
  });

  it('names a file that is not gzip, or has too few merges', () => {
    const notGzip = join(dir, 'plain.txt.gz');
    writeFileSync(notGzip, 'i n\nt h\n');
    assert.throws(() => ClipTokenizer.load(notGzip), (e: unknown) =>
      e instanceof UserError && e.message.includes(notGzip) && e.message.includes('gzip'));
    const short = join(dir, 'short.txt.gz');
    writeFileSync(short, gzipSync('"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n'));
    assert.throws(() => ClipTokenizer.load(short), (e: unknown) =>
      e instanceof UserError && e.message.includes(short) && e.message.includes('corrupt'));
  });
});

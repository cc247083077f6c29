/**
 * `clipface embed`: CLIP features of images and texts as one JSON object on stdout (the contract in
 * ARCHITECTURE.md): raw encode_image / encode_text (not normalised), the 77 token ids, and
 * logits_per_image = exp(logit_scale) × cosine.
 */
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { initTf, tf } from '../../runtime/tf.ts';
import { decodeImage } from '../../runtime/image.ts';
import { ClipModel } from '../../clip/model.ts';
import { ClipTokenizer } from '../../clip/tokenizer.ts';
import { clipCrop, toPixelValues } from '../../clip/preprocess.ts';
import { resolveLocalModel } from '../../models/registry.ts';

const help = `usage: clipface embed (--config <json> --weights <safetensors> | --model <id|dir>)
                      [--vocab <bpe .txt.gz>] [--image <file>]... [--text <string>]...

Prints one JSON object on stdout:
  {"images":[{"source":path,"embedding":[...]}],
   "texts":[{"text":s,"tokens":[77 ints],"embedding":[...]}],
   "logits_per_image":[[...]]}      (rows: images, columns: texts)

  --config   open_clip model config ({embed_dim, vision_cfg, text_cfg, quick_gelu?}) or the HF hub
             open_clip_config.json ({model_cfg, preprocess_cfg})
  --weights  .safetensors with OpenAI / open_clip key names (F32, F16 or BF16)
  --model    a registry id in the cache (clipface models list) or a folder in HF open_clip layout,
             instead of --config/--weights
  --vocab    CLIP's BPE merges file (default: models/bpe_simple_vocab_16e6.txt.gz)
  --image    an image file (repeatable); resized (bicubic, short side) and centre-cropped as CLIP
             does; a 224×224 input is not resampled
  --text     a prompt (repeatable); tokenized like clip.tokenize (truncated to 77 tokens)
Embeddings are raw features; normalise them yourself for cosines.`;

export const embedCommand: Command = {
  name: 'embed',
  summary: 'CLIP image/text embeddings and logits as JSON (numerically OpenAI CLIP)',
  help,
  async run(argv) {
    const { values } = parse('embed', argv, {
      config: { type: 'string' }, weights: { type: 'string' }, model: { type: 'string' },
      vocab: { type: 'string' }, image: { type: 'string', multiple: true }, text: { type: 'string', multiple: true },
    });
    let configPath = values.config, weightsPath = values.weights;
    if (values.model) {
      if (configPath || weightsPath) throw new UserError('embed: give either --model or --config/--weights, not both');
      ({ configPath, weightsPath } = resolveLocalModel(values.model));
    }
    if (!configPath || !weightsPath) throw new UserError('embed: --config and --weights are required (or --model <id|dir>); see "clipface embed --help"');
    const images = values.image ?? [];
    const texts = values.text ?? [];
    if (!images.length && !texts.length) throw new UserError('embed: nothing to embed: pass --image <file> and/or --text <string>');

    // read every input before loading the model, so a bad file fails fast and nothing is printed
    const tokenizer = texts.length ? ClipTokenizer.load(values.vocab) : undefined;
    const decoded = await Promise.all(images.map((p) => decodeImage(p)));
    await initTf();
    const model = ClipModel.load(configPath, weightsPath);
    const { size, mean, std } = model.cfg.preprocess;
    const per = 3 * size * size;
    const pixels = new Float32Array(images.length * per);
    decoded.forEach((img, i) => toPixelValues(clipCrop(img, size), mean, std, pixels, i * per));
    const tokens = tokenizer ? tokenizer.tokenize(texts, model.cfg.text.contextLength).tokens : [];

    const imgF = images.length ? model.encodeImage(pixels, images.length) : undefined;
    const txtF = texts.length ? model.encodeText(tokens) : undefined;
    const logits = imgF && txtF ? model.logits(imgF, txtF) : undefined;
    const rows = (t?: tf.Tensor) => (t ? (t.arraySync() as number[][]) : []);
    const out = {
      images: rows(imgF).map((embedding, i) => ({ source: images[i]!, embedding })),
      texts: rows(txtF).map((embedding, i) => ({ text: texts[i]!, tokens: [...tokens[i]!], embedding })),
      logits_per_image: rows(logits),
    };
    tf.dispose([imgF, txtF, logits].filter((t): t is tf.Tensor2D => !!t));
    model.dispose();
    process.stdout.write(JSON.stringify(out) + '\n');
    return 0;
  },
};

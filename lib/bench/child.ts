/**
 * One bench case in its own process (so its peak RSS is its own): `node --import tsx
 * lib/bench/child.ts '<case json>'`. Progress on stderr; the result is the last stdout line.
 */
import { initTf } from '../runtime/tf.ts';
import { runImageEmbed, runTextStep, type ImageCase, type TextStepCase } from './workloads.ts';
import { runNegativesStudy } from './approx.ts';
import { runPretrainStep, type PretrainCase } from './pretrain-step.ts';

type ChildCase = ({ kind: 'text' } & TextStepCase) | ({ kind: 'image' } & ImageCase) | ({ kind: 'pretrain' } & PretrainCase) | { kind: 'negatives'; quick: boolean };

const c = JSON.parse(process.argv[2] ?? '{}') as ChildCase;
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
await initTf({ quiet: true });
const result = c.kind === 'text' ? runTextStep(c, log) : c.kind === 'pretrain' ? runPretrainStep(c, log) : c.kind === 'negatives' ? runNegativesStudy(c.quick, log) : await runImageEmbed(c, log);
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0); // onnxruntime's thread pool must not keep the process waiting

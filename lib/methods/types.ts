/**
 * A method turns a prepared run (dataset, split, classes) into per-image class scores. The paper's
 * arm is `clip-text-finetune`; baselines and ablation arms are further methods, so every arm
 * shares one data pipeline, one evaluation and one results layout.
 */
import type { Dataset, Identity } from '../data/types.ts';
import type { ExperimentConfig } from '../services/experiment-config.ts';
import type { Crops, RunImage } from '../services/stages.ts';
import type { StepLog } from '../train/finetune.ts';

export type { RunImage } from '../services/stages.ts';

export interface RunContext {
  cfg: ExperimentConfig;
  /** folder of the experiment file (relative paths in the config resolve against it) */
  baseDir: string;
  /** this run's results folder */
  dir: string;
  /** true when continuing an interrupted run */
  resumed: boolean;
  ds: Dataset;
  /** every image to score, in a fixed order: train, test, unknown-person photos, deployment frames */
  images: RunImage[];
  /** enrolled identities with training images, in manifest order: the classes */
  classes: Identity[];
  /** aligned crops at `size` px (cached per size); methods call it with their input size */
  crops(size: number): Promise<Crops>;
  say(message: string): void;
  /** true once the user pressed Ctrl-C (or a test asked to stop after N steps) */
  shouldStop(stepsDone: number): boolean;
}

export interface MethodResult {
  /** the images that were scored (those whose crops exist), aligned with `probs` */
  scored: RunImage[];
  /** class probabilities per scored image (rows sum to 1); for face-match, per-class acceptance confidences (lib/baselines/gallery.ts) */
  probs: number[][];
  /** similarity of each image to each class (cosine), for verification ROC and heatmaps */
  cosines: number[][];
  /** training log, one entry per optimiser step (empty for training-free methods) */
  log: StepLog[];
  /** L2-normalised image features of the scored images (row-major), for similarity figures */
  features?: { dim: number; data: Float32Array };
  /** the prompt of each class as used (after prompt.names); null for methods without prompts; absent = prompt.template with the display names */
  prompts?: string[] | null;
  /** what produced the scores, for the report */
  description: string;
  /** set when the scores come from random weights */
  stamp?: string;
  /** method-specific numbers merged into metrics.json under `method` */
  extra?: Record<string, unknown>;
}

export interface Method {
  name: string;
  run(ctx: RunContext): Promise<MethodResult>;
}

/** Thrown by a method when the user interrupted training (a checkpoint has been saved). */
export class Interrupted extends Error {}

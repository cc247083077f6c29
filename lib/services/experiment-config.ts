/**
 * The type of ExperimentConfig, the one input of a run (lib/experiment/config.ts loads, checks and
 * hashes it). It sits on the services floor so that services/ and methods/ can read it without
 * importing upward.
 *
 * The schema (data-spec/experiment.schema.json) is the source; this type restates it for the
 * compiler, and test/config-schema.test.ts fails when they differ (a key, its optionality, its kinds
 * or enum values). A field is optional here exactly when the schema neither requires it nor gives
 * it a `default`.
 */
export interface ExperimentConfig {
  $schema?: string;
  name: string;
  description: string;
  seed: number;
  /** which arm; options other than `kind` are optional here and defaulted in lib/methods/options.ts (to the schema's `x-default`) */
  method: {
    kind: string;
    embedder?: string;
    registry?: string | null;
    gallery?: 'mean' | 'nn';
    threshold?: 'documented' | 'calibrated' | number;
    head?: { epochs?: number; lr?: number; batchSize?: number | null; weightDecay?: number };
    tipAdapter?: { alpha?: number; beta?: number };
    coop?: { contextTokens?: number; init?: string; lr?: number; weightDecay?: number };
  };
  dataset: {
    path: string;
    /** entries with errors a run may leave out; absent = 0 (see the schema) */
    maxProblems?: number;
    synth: null | {
      seed: number; identities: number; unknown: number; perIdentity: number; size: number;
      /** unknown near twins of enrolled people (lib/data/synth-lookalikes.ts); no schema default */
      lookalikes?: { distances?: number[]; perDistance?: number; photos?: number };
    };
    split: { trainFraction: number; seed: number | null; kShot: number | null };
  };
  preprocess: { detector: string; margin: number; facePolicy: 'largest' | 'highest-score' | 'fail-if-many'; cacheDir: string };
  model: {
    id: string | null; dir: string | null; config: string | null; weights: string | null;
    randomInit: { arch: string; seed: number | null };
    /** a seeded random-init CLIP (randomInit) on purpose: a pipeline check */
    random: boolean;
    allowRandom: boolean;
  };
  prompt: { template: string; names?: 'real' | 'neutral' | 'description' };
  training: {
    epochs: number; batchSize: number; lr: number; minLr: number; warmupSteps: number;
    schedule: 'cosine' | 'constant'; weightDecay: number; betas: [number, number]; eps: number;
    seed: number | null; checkpointEvery: number;
    loss?: { kind: 'ce' | 'arcface' | 'triplet'; margin?: number | null; scale?: number | null };
  };
  evaluation: { threshold: number; aggregation: 'majority' | 'mean-prob'; enrolledRejected: 'fp' | 'tn'; bootstrap: number };
  output: { resultsDir: string };
}

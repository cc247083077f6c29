/**
 * Types of a dataset manifest; they mirror `data-spec/dataset.schema.json` field for field (the
 * schema is the source of truth and is what `loadDataset` validates against; test/data.test.ts
 * checks that a synthetic manifest passes it).
 */

export const VIEWS = ['front', 'above', 'below', 'left', 'right', 'other'] as const;
export type View = (typeof VIEWS)[number];
export type Role = 'known' | 'unknown';
/** [x, y] in source pixels; (0, 0) is the centre of the top-left pixel */
export type Point = [number, number];
/** eye, eye, nose tip, mouth corner, mouth corner; each pair left to right as seen in the image */
export type Keypoints5 = [Point, Point, Point, Point, Point];

export interface Identity {
  /** stable id, NFC-normalised; a folder name in folder-per-person datasets */
  id: string;
  /** display name used in prompts; Unicode allowed */
  name: string;
  /** known = enrolled, may be trained on; unknown = never in training */
  role: Role;
  note?: string;
  /** a person who looks like this identity (an enrolled one): the deployment test's near twins */
  lookalikeOf?: string;
  /** how many identity parts differ from `lookalikeOf` (synthetic sets: 1–4 of the 8 part ids) */
  lookalikeDistance?: number;
  /** which parts differ (synthetic sets: facesjs part names, e.g. "eye", "hair") */
  lookalikeParts?: string[];
}

export interface Pose {
  /** degrees; > 0 turns the features towards the image's right */
  yaw: number;
  /** degrees; > 0 = seen from above */
  pitch: number;
  /** degrees; > 0 = clockwise in the image */
  roll: number;
}

export interface Capture {
  device?: string;
  distanceM?: number;
  takenAt?: string;
  pose?: Pose;
  expression?: string;
  occluders?: string[];
  lighting?: string;
  note?: string;
  /** free-form parameters of the synthetic generator */
  synth?: Record<string, unknown>;
}

export interface ImageEntry {
  /** relative to the dataset root, '/' separators */
  path: string;
  identity: string;
  view: View;
  session: string;
  width?: number;
  height?: number;
  sha256?: string;
  /** ground truth, ArcFace template order (see Keypoints5) */
  keypoints?: Keypoints5;
  capture?: Capture;
}

export interface DeploymentSession {
  subject: string;
  /** agrees with the subject's role */
  known: boolean;
  session?: string;
  /** paths, each listed in `images` */
  frames: string[];
}

export interface Generator {
  name: string;
  version: number;
  seed?: number;
  options?: Record<string, unknown>;
  packages?: Record<string, string>;
}

export interface Manifest {
  $schema?: string;
  version: 1;
  name: string;
  description?: string;
  generator?: Generator;
  identities: Identity[];
  images: ImageEntry[];
  deployment?: DeploymentSession[];
}

export type ProblemCode =
  | 'invalid-json' | 'schema' | 'path-outside-root' | 'missing-file' | 'unknown-identity'
  | 'duplicate-identity' | 'duplicate-path' | 'duplicate-name' | 'empty-folder' | 'not-an-image'
  | 'checksum' | 'deployment' | 'stray-file' | 'no-images' | 'keypoints' | 'incomplete' | 'lookalike';

/** Something wrong with a dataset. Errors drop the entry they concern; warnings drop nothing. */
export interface Problem {
  /** the manifest entry or file concerned, relative to the root ("manifest.json#/images/3/view" for schema errors) */
  path: string;
  reason: string;
  code: ProblemCode;
  severity: 'error' | 'warning';
}

export interface Dataset {
  /** absolute path of the dataset folder */
  root: string;
  /** 'manifest' when <root>/manifest.json exists, else 'folders' (one folder per person) */
  source: 'manifest' | 'folders';
  /** only entries that passed every check (images with problems are left out) */
  manifest: Manifest;
  problems: Problem[];
}

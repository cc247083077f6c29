/** The methods a run can use (`method.kind` in the experiment config). */
import { UserError } from '../util/errors.ts';
import { clipLinearProbe, clipTipAdapter, clipZeroShot } from './clip-arms.ts';
import { clipCoop } from './clip-coop.ts';
import { clipFinetune } from './clip-finetune.ts';
import { faceClassifier, faceMatch } from './face-baseline.ts';
import type { Method } from './types.ts';

export const methods: Method[] = [clipFinetune, clipZeroShot, clipLinearProbe, clipTipAdapter, clipCoop, faceMatch, faceClassifier];

export function getMethod(name: string): Method {
  const m = methods.find((x) => x.name === name);
  if (!m) throw new UserError(`method.kind "${name}" is not a method; known: ${methods.map((x) => x.name).join(', ')}`);
  return m;
}

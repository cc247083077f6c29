/**
 * Learning-rate schedules, as a pure function of the step. `cosine` is PyTorch's
 * CosineAnnealingLR with T_max = total steps and eta_min = minLr (the paper: "cosine annealing"),
 * with an optional linear warm-up (open_clip_train/scheduler.py cosine_lr).
 */
export interface ScheduleConfig {
  kind: 'cosine' | 'constant';
  lr: number;
  minLr?: number;
  warmupSteps?: number;
}

/** lr for 0-based `step` of `total` steps. */
export function learningRate(s: ScheduleConfig, step: number, total: number): number {
  const warm = s.warmupSteps ?? 0;
  if (step < warm) return (s.lr * (step + 1)) / warm;
  if (s.kind === 'constant') return s.lr;
  const min = s.minLr ?? 0;
  const span = Math.max(1, total - warm);
  return min + ((s.lr - min) * (1 + Math.cos((Math.PI * (step - warm)) / span))) / 2;
}

import type { LossPoint, TrainingInfo } from '../../../shared/checkpoints.js';
import { isRecord } from './files.js';

/** The parts of trainer_state.json Berth uses. */
export interface TrainerState {
  global_step: number | undefined;
  epoch: number | undefined;
  best_model_checkpoint: string | undefined;
  best_metric: number | undefined;
  history: LossPoint[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads a parsed trainer_state.json leniently: fields that are missing or of the wrong type are left out. */
export function parseTrainerState(json: unknown): TrainerState {
  const state = isRecord(json) ? json : {};
  const history: LossPoint[] = [];
  for (const entry of Array.isArray(state.log_history) ? state.log_history : []) {
    if (!isRecord(entry)) continue;
    const step = num(entry.step);
    const loss = num(entry.loss);
    const evalLoss = num(entry.eval_loss);
    if (step === undefined || (loss === undefined && evalLoss === undefined)) continue;
    history.push({
      step,
      ...(loss !== undefined ? { loss } : {}),
      ...(evalLoss !== undefined ? { eval_loss: evalLoss } : {}),
    });
  }
  const best = state.best_model_checkpoint;
  return {
    global_step: num(state.global_step),
    epoch: num(state.epoch),
    best_model_checkpoint: typeof best === 'string' && best.length > 0 ? best : undefined,
    best_metric: num(state.best_metric),
    history,
  };
}

/** This checkpoint's training facts: the last train and eval loss logged at or before its step. */
export function trainingInfo(state: TrainerState, step = state.global_step): TrainingInfo {
  let train: number | undefined;
  let evalLoss: number | undefined;
  for (const p of state.history) {
    if (step !== undefined && p.step > step) continue;
    if (p.loss !== undefined) train = p.loss;
    if (p.eval_loss !== undefined) evalLoss = p.eval_loss;
  }
  return {
    ...(state.global_step !== undefined ? { global_step: state.global_step } : {}),
    ...(state.epoch !== undefined ? { epoch: state.epoch } : {}),
    ...(train !== undefined ? { train_loss: train } : {}),
    ...(evalLoss !== undefined ? { eval_loss: evalLoss } : {}),
    ...(state.best_model_checkpoint ? { best_model_checkpoint: state.best_model_checkpoint } : {}),
    ...(state.best_metric !== undefined ? { best_metric: state.best_metric } : {}),
  };
}

/** Thins a loss history to at most `max` points per series, keeping the first and last (for the chart). */
export function thinHistory(history: LossPoint[], max = 400): LossPoint[] {
  const merged = new Map<number, LossPoint>();
  for (const p of history) merged.set(p.step, { ...merged.get(p.step), ...p });
  const points = [...merged.values()].sort((a, b) => a.step - b.step);
  if (points.length <= max) return points;
  const evals = points.filter((p) => p.eval_loss !== undefined);
  const every = Math.ceil(points.length / max);
  const kept = new Set(points.filter((_, i) => i % every === 0 || i === points.length - 1));
  // Eval points are few and each one matters; keep them all (up to max).
  for (const p of evals.slice(-max)) kept.add(p);
  return [...kept].sort((a, b) => a.step - b.step);
}

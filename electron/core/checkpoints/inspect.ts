import type { Dirent } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Checkpoint, Inspection } from '../../../shared/checkpoints.js';
import { BerthError } from '../errors.js';
import { type DescribeOptions, describeFolder, looksLikeModel } from './describe.js';
import { fsError, mapLimit, statOrThrow } from './files.js';
import { describeGgufFile } from './gguf-checkpoint.js';
import { type TrainerState, thinHistory, trainingInfo } from './trainer-state.js';

/** A run may hold hundreds of checkpoints; listing beyond this many subfolders is refused as not a run. */
const MAX_CHILDREN = 2000;

/**
 * Describes what is at `path`: a model folder, a training run (checkpoint-N folders, usually a final model at
 * the root), a LoRA adapter or a GGUF file. Reads headers only and opens everything read-only. Throws (with a
 * code) only when the path is not something Berth can describe; problems inside a checkpoint are recorded in
 * that checkpoint's `errors`.
 */
export async function inspectPath(
  path: string,
  options: DescribeOptions = { env: process.env },
): Promise<Inspection> {
  const started = performance.now();
  const root = resolve(path);
  const info = await statOrThrow(root);
  if (info.isFile()) {
    if (!root.toLowerCase().endsWith('.gguf')) {
      throw new BerthError(
        'NOT_A_FOLDER',
        `${root} is a file, not a model folder`,
        `Pick the folder that holds it (${dirname(root)}), or a .gguf file.`,
      );
    }
    const checkpoint = await describeGgufFile(root, basename(root));
    return {
      path: root,
      name: basename(root),
      kind: 'gguf',
      checkpoints: [checkpoint],
      loss_history: [],
      inspected_ms: performance.now() - started,
    };
  }
  if (!info.isDirectory())
    throw new BerthError('NOT_A_FOLDER', `${root} is not a folder`, 'Pick a model folder.');
  const entries = await listDir(root);
  if (entries.length === 0)
    throw new BerthError(
      'EMPTY_FOLDER',
      `${root} is empty`,
      'Pick the folder your training wrote its output to.',
    );

  const rootReal = await realpath(root);
  const names = entries.map((e) => e.name);
  const rootIsModel = looksLikeModel(names);
  const children = await findChildren(root, rootReal, entries);
  const ggufs = entries
    .filter((e) => !e.isDirectory() && e.name.toLowerCase().endsWith('.gguf'))
    .map((e) => e.name);
  if (!rootIsModel && children.folders.length === 0 && children.broken.length === 0 && ggufs.length === 0) {
    throw new BerthError(
      'CONFIG_MISSING',
      `No config.json, checkpoint-N folders or GGUF files in ${root}`,
      'Pick the folder that holds config.json (or your training run output folder).',
    );
  }

  const states: TrainerState[] = [];
  const describeOne = async (dir: string, rel: string) => {
    const described = await describeFolder(dir, rel, options);
    if (described.trainerState) states.push(described.trainerState);
    return described;
  };
  const rootDescribed = rootIsModel ? await describeOne(root, '.') : undefined;
  const childDescribed = await mapLimit(children.folders, 8, (name) => describeOne(join(root, name), name));
  const ggufDescribed = await mapLimit(ggufs, 4, (name) =>
    describeGgufFile(join(root, name), name).catch((error: unknown) =>
      brokenCheckpoint(join(root, name), name, 'gguf', error),
    ),
  );

  const checkpoints: Checkpoint[] = [
    ...childDescribed.map((d) => d.checkpoint),
    ...children.broken.map((b) => brokenCheckpoint(join(root, b.name), b.name, 'hf-model', b.error)),
  ].sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.relative_path.localeCompare(b.relative_path));
  const isRun = checkpoints.some((c) => /^checkpoint-\d+$/.test(c.relative_path));
  if (rootDescribed) {
    rootDescribed.checkpoint.is_final = isRun;
    if (isRun) checkpoints.push(rootDescribed.checkpoint);
    else checkpoints.unshift(rootDescribed.checkpoint);
  }
  checkpoints.push(...ggufDescribed);

  // The most advanced trainer_state.json has the whole history and the final word on the best checkpoint.
  const latest = states.sort((a, b) => (b.global_step ?? 0) - (a.global_step ?? 0))[0];
  const best = latest?.best_model_checkpoint
    ? findBest(checkpoints, latest.best_model_checkpoint)
    : undefined;
  for (const c of checkpoints) {
    if (best && c === best) c.is_best = true;
    if (!c.training && latest && c.step !== undefined) c.training = trainingInfo(latest, c.step);
    if (c.is_final && c.step === undefined && latest?.global_step !== undefined) c.step = latest.global_step;
  }
  const kind: Inspection['kind'] =
    isRun || rootDescribed?.trainerState
      ? 'run'
      : rootDescribed?.checkpoint.kind === 'lora-adapter'
        ? 'adapter'
        : !rootDescribed && childDescribed.length === 0 && ggufs.length > 0
          ? 'gguf'
          : 'model';
  return {
    path: root,
    name: basename(root),
    kind,
    checkpoints,
    ...(best ? { best_checkpoint: best.relative_path } : {}),
    loss_history: thinHistory(latest?.history ?? []),
    inspected_ms: performance.now() - started,
  };
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw fsError(error, dir);
  }
}

/**
 * The subfolders that hold checkpoints: checkpoint-N folders and any other subfolder that looks like a model.
 * Links are followed once; a link back to the run itself (or above it) is skipped, so loops cannot recurse.
 */
async function findChildren(root: string, rootReal: string, entries: Dirent[]) {
  const folders: string[] = [];
  const broken: Array<{ name: string; error: unknown }> = [];
  const candidates = entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).slice(0, MAX_CHILDREN);
  await mapLimit(candidates, 16, async (entry) => {
    const full = join(root, entry.name);
    const isCheckpoint = /^checkpoint-\d+$/.test(entry.name);
    try {
      if (entry.isSymbolicLink()) {
        const target = await realpath(full);
        if (rootReal === target || rootReal.startsWith(target + sep))
          throw Object.assign(new Error('loop'), { code: 'ELOOP' });
        if (!(await statOrThrow(full)).isDirectory()) return;
      }
      if (isCheckpoint || looksLikeModel((await readdir(full)).filter(Boolean))) folders.push(entry.name);
    } catch (error) {
      // A checkpoint folder we cannot read is reported; an unrelated unreadable folder is not our business.
      if (isCheckpoint || (error as NodeJS.ErrnoException).code === 'ELOOP')
        broken.push({ name: entry.name, error });
    }
  });
  return { folders: folders.sort(), broken };
}

function brokenCheckpoint(path: string, rel: string, kind: Checkpoint['kind'], error: unknown): Checkpoint {
  const step = /^checkpoint-(\d+)$/.exec(rel)?.[1];
  return {
    relative_path: rel,
    path,
    kind,
    ...(step ? { step: Number(step) } : {}),
    dtypes: [],
    errors: [fsError(error, path).toJSON()],
    warnings: [],
    weight_files: [],
    vllm_servable: { ok: false, code: 'INVALID_CHECKPOINT', reason: 'the checkpoint has errors (see below)' },
    gguf_convertible: {
      ok: false,
      code: 'INVALID_CHECKPOINT',
      reason: 'the checkpoint has errors (see below)',
    },
    is_best: false,
    is_final: false,
  };
}

/** trainer_state.json names the best checkpoint by a path from wherever training ran; match its last part. */
function findBest(checkpoints: Checkpoint[], bestPath: string): Checkpoint | undefined {
  const name = bestPath
    .replace(/[\\/]+$/, '')
    .split(/[\\/]/)
    .pop();
  return checkpoints.find((c) => c.relative_path === name);
}

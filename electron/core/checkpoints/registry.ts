import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, isAbsolute, join, normalize, sep } from 'node:path';
import { z } from 'zod';
import type { BrowseResult, Checkpoint, Inspection, Job } from '../../../shared/checkpoints.js';
import type { Clock } from '../clock.js';
import { BerthError, toErrorShape } from '../errors.js';
import type { EventBus } from '../events.js';
import { writePrivateFile } from '../private-fs.js';
import { browseFolder } from './browse.js';
import { inspectPath } from './inspect.js';
import { userPath } from './user-path.js';

/** What the registry persists per job: the identity, and the last description (so list() needs no disk walk). */
const StoredJobsSchema = z.object({
  jobs: z.array(z.object({ id: z.string(), path: z.string(), registered_at: z.string() }).passthrough()),
});

/** A reference to a checkpoint, as the deploy API receives it. */
export interface CheckpointRef {
  job_id?: string;
  model_path?: string;
  checkpoint_path?: string;
}

export interface JobRegistryDeps {
  file: string;
  bus: EventBus;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  /** Folders besides home the folder browser may list (settings.roots). */
  roots: () => string[];
}

/**
 * Registered training runs and model folders, each with a stable uuid, persisted to one JSON file (written
 * atomically). Registering a path again returns the same job, re-inspected.
 */
export class JobRegistry {
  private jobs: Job[];
  /** Concurrent registrations of one path share a single inspection (and so a single id). */
  private readonly inFlight = new Map<string, Promise<Job>>();

  constructor(private readonly deps: JobRegistryDeps) {
    this.jobs = this.load();
  }

  /** Registers (or re-inspects) the folder or GGUF file at `path`. */
  register(path: string): Promise<Job> {
    let abs: string;
    try {
      abs = userPath(path, this.deps.env);
    } catch (error) {
      return Promise.reject(error);
    }
    const pending = this.inFlight.get(abs);
    if (pending) return pending;
    const work = this.registerNow(abs).finally(() => this.inFlight.delete(abs));
    this.inFlight.set(abs, work);
    return work;
  }

  private async registerNow(abs: string): Promise<Job> {
    const inspection = await inspectPath(abs, { env: this.deps.env });
    const existing = this.jobs.find((j) => j.path === inspection.path);
    const job = this.toJob(inspection, existing?.id ?? randomUUID(), existing?.registered_at);
    this.jobs = existing ? this.jobs.map((j) => (j.id === job.id ? job : j)) : [...this.jobs, job];
    this.save();
    return job;
  }

  /** Every job, most recently registered first (their last description; get() refreshes one). */
  list(): Job[] {
    return [...this.jobs].sort((a, b) => b.registered_at.localeCompare(a.registered_at));
  }

  /** One job, re-inspected so new checkpoints of a running training show up. Throws JOB_NOT_FOUND. */
  async get(id: string): Promise<Job> {
    const job = this.find(id);
    try {
      const fresh = this.toJob(
        await inspectPath(job.path, { env: this.deps.env }),
        job.id,
        job.registered_at,
      );
      this.jobs = this.jobs.map((j) => (j.id === id ? fresh : j));
      // Only a real change is written and announced (the UI re-reads on every jobs.changed).
      if (contentKey(fresh) !== contentKey(job)) this.save();
      return fresh;
    } catch (error) {
      // The folder moved or broke: keep the job (the user may put it back), say what is wrong.
      const stale: Job = { ...job, error: toErrorShape(error) };
      this.jobs = this.jobs.map((j) => (j.id === id ? stale : j));
      return stale;
    }
  }

  /** Forgets a job (the folder itself is never touched). Throws JOB_NOT_FOUND. */
  remove(id: string): void {
    this.find(id);
    this.jobs = this.jobs.filter((j) => j.id !== id);
    this.save();
  }

  /**
   * The checkpoint a deploy request names, with an absolute path: `checkpoint_path` is relative to the job
   * (or model_path) and may not leave it; without one, the run's final model, else its best, else its latest.
   */
  async resolve(ref: CheckpointRef): Promise<Checkpoint> {
    let root: string;
    let inspection: Pick<Inspection, 'checkpoints' | 'path'>;
    if (ref.job_id) {
      const job = await this.get(ref.job_id);
      if (job.error) throw new BerthError(job.error.code, job.error.message, job.error.hint);
      root = job.path;
      inspection = job;
    } else if (ref.model_path) {
      inspection = await inspectPath(userPath(ref.model_path, this.deps.env), { env: this.deps.env });
      root = inspection.path;
    } else {
      throw new BerthError(
        'INVALID_REQUEST',
        'Name a job_id or a model_path',
        'Register the run first, or pass its folder.',
      );
    }
    const checkpoint =
      ref.checkpoint_path === undefined
        ? pickDefault(inspection.checkpoints)
        : await pickByPath(root, inspection.checkpoints, ref.checkpoint_path);
    // An adapter whose base is not found can still be deployed with a base the request names (base_model_path).
    const first = checkpoint.errors.find(
      (e) => !(checkpoint.kind === 'lora-adapter' && e.code === 'ADAPTER_BASE_MISSING'),
    );
    if (first) throw new BerthError(first.code, first.message, first.hint);
    return checkpoint;
  }

  /** A short name for what a ref points at (the job's name, or the model folder's), for default model names. */
  nameOf(ref: CheckpointRef): string | undefined {
    if (ref.job_id) return this.jobs.find((j) => j.id === ref.job_id)?.name;
    return ref.model_path ? basename(ref.model_path.replace(/[/\\]+$/, '')) || undefined : undefined;
  }

  /** Lists a folder for the browser UI's picker, confined to home and settings.roots (PATH_OUTSIDE_ROOTS). */
  browse(path?: string): Promise<BrowseResult> {
    return browseFolder(path, this.deps.roots(), this.deps.env);
  }

  private find(id: string): Job {
    const job = this.jobs.find((j) => j.id === id);
    if (!job)
      throw new BerthError(
        'JOB_NOT_FOUND',
        `No job ${id}`,
        'List jobs with GET /api/training/jobs, or register the folder again.',
      );
    return job;
  }

  private toJob(inspection: Inspection, id: string, registeredAt?: string): Job {
    const now = new Date(this.deps.clock.now()).toISOString();
    return {
      id,
      path: inspection.path,
      name: inspection.name,
      registered_at: registeredAt ?? now,
      inspected_at: now,
      kind: inspection.kind,
      checkpoints: inspection.checkpoints,
      ...(inspection.best_checkpoint ? { best_checkpoint: inspection.best_checkpoint } : {}),
      loss_history: inspection.loss_history,
    };
  }

  private load(): Job[] {
    let text: string;
    try {
      text = readFileSync(this.deps.file, 'utf8');
    } catch {
      return [];
    }
    try {
      return StoredJobsSchema.parse(JSON.parse(text)).jobs as Job[];
    } catch (error) {
      // A corrupt state file must not stop Berth; keep it aside for the user and start empty.
      renameSync(this.deps.file, `${this.deps.file}.corrupt-${Date.now()}`);
      process.emitWarning(`Berth: ${this.deps.file} was unreadable and was set aside: ${String(error)}`);
      return [];
    }
  }

  private save(): void {
    writePrivateFile(this.deps.file, `${JSON.stringify({ jobs: this.jobs }, null, 1)}\n`);
    this.deps.bus.emit({ type: 'jobs.changed' });
  }
}

/** What a job describes, without its timestamps. */
function contentKey(job: Job): string {
  const { inspected_at: _at, registered_at: _reg, error: _err, ...rest } = job;
  return JSON.stringify(rest, (key, value) => (key === 'inspected_ms' ? undefined : value));
}

function pickDefault(checkpoints: Checkpoint[]): Checkpoint {
  const usable = checkpoints.filter((c) => c.errors.length === 0);
  const pick =
    usable.find((c) => c.relative_path === '.') ??
    usable.find((c) => c.is_best) ??
    [...usable].sort((a, b) => (b.step ?? -1) - (a.step ?? -1))[0] ??
    checkpoints[0];
  if (!pick)
    throw new BerthError(
      'CHECKPOINT_NOT_FOUND',
      'This folder holds no checkpoints',
      'Pick a model folder or training run.',
    );
  return pick;
}

async function pickByPath(root: string, checkpoints: Checkpoint[], wanted: string): Promise<Checkpoint> {
  const rel = normalize(wanted.replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
  if (isAbsolute(wanted) || rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith('../')) {
    throw new BerthError(
      'PATH_ESCAPES_JOB',
      `checkpoint_path "${wanted}" leaves the job's folder`,
      'Give a path relative to the run, e.g. "checkpoint-500".',
    );
  }
  const found = checkpoints.find((c) => c.relative_path === rel);
  if (!found) {
    throw new BerthError(
      'CHECKPOINT_NOT_FOUND',
      `No checkpoint "${wanted}" in ${root}`,
      `Known: ${checkpoints.map((c) => c.relative_path).join(', ') || 'none'}.`,
    );
  }
  // A checkpoint folder linked to somewhere outside the run is refused too: the lexical check is not enough.
  const [rootReal, targetReal] = await Promise.all([realpath(root), realpath(join(root, rel))]);
  if (targetReal !== rootReal && !targetReal.startsWith(rootReal + sep) && found.kind !== 'gguf') {
    throw new BerthError(
      'PATH_ESCAPES_JOB',
      `checkpoint_path "${wanted}" links outside the job's folder`,
      'Copy the checkpoint into the run instead of linking it.',
    );
  }
  return found;
}

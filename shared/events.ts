import { z } from 'zod';
import { DeploymentStatusSchema, DeployResponseSchema, DeployStageSchema } from './deploy.js';
import { BerthErrorSchema } from './errors.js';
import { LogLineSchema, ServerInfoSchema } from './servers.js';

/** Progress of one stage: `done` of `total` in `unit`; the UI draws a bar and an ETA from it. */
export const ProgressSchema = z.object({
  stage: DeployStageSchema,
  done: z.number(),
  total: z.number(),
  unit: z.enum(['bytes', 'tensors', 'steps', 'tokens']),
  /** Seconds since the stage started. */
  elapsed_s: z.number().optional(),
  eta_s: z.number().optional(),
  detail: z.string().optional(),
});
export type Progress = z.infer<typeof ProgressSchema>;

/** Everything the core tells its listeners (window over IPC, browsers and scripts over SSE). */
export const BerthEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('deployment.stage'),
    deployment_id: z.uuid(),
    stage: DeployStageSchema,
    state: z.enum(['started', 'done', 'skipped', 'failed']),
    /** Why a stage was skipped, or what it found (the quality stage's verdict). */
    detail: z.string().optional(),
    /** A stage that failed without failing the deployment (quality): its coded error. */
    error: BerthErrorSchema.optional(),
  }),
  z.object({ type: z.literal('deployment.progress'), deployment_id: z.uuid(), progress: ProgressSchema }),
  z.object({ type: z.literal('deployment.log'), deployment_id: z.uuid(), log: LogLineSchema }),
  z.object({
    type: z.literal('deployment.status'),
    deployment_id: z.uuid(),
    status: DeploymentStatusSchema,
    result: DeployResponseSchema.optional(),
    error: BerthErrorSchema.optional(),
  }),
  z.object({ type: z.literal('server.status'), server: ServerInfoSchema }),
  z.object({ type: z.literal('server.removed'), server_id: z.uuid() }),
  z.object({ type: z.literal('server.log'), server_id: z.uuid(), log: LogLineSchema }),
  z.object({
    type: z.literal('server.crashed'),
    server_id: z.uuid(),
    name: z.string(),
    will_restart: z.boolean(),
    restart_in_ms: z.number().optional(),
  }),
  z.object({ type: z.literal('jobs.changed') }),
  /** Creating the converter's Python environment (Settings > Set up the converter). */
  z.object({
    type: z.literal('converter.setup'),
    state: z.enum(['running', 'done', 'failed']),
    progress: ProgressSchema.optional(),
    error: BerthErrorSchema.optional(),
  }),
  z.object({ type: z.literal('settings.changed') }),
  z.object({ type: z.literal('system.changed') }),
]);
export type BerthEvent = z.infer<typeof BerthEventSchema>;
export type BerthEventType = BerthEvent['type'];

import { z } from 'zod';
import {
  DeploymentStatusSchema,
  DeployResponseSchema,
  DeployServerTypeSchema,
  DeployStageSchema,
  ServerTypeSchema,
} from './deploy.js';
import { BerthErrorSchema } from './errors.js';
import { ProgressSchema } from './events.js';

export const StageStateSchema = z.enum(['pending', 'started', 'done', 'skipped', 'failed']);
export type StageState = z.infer<typeof StageStateSchema>;

/** One deployment as the UI and the API see it: where it is, how far, and how it ended. */
export const DeploymentInfoSchema = z.object({
  id: z.uuid(),
  name: z.string().optional(),
  requested_server_type: DeployServerTypeSchema,
  server_type: ServerTypeSchema.optional(),
  model_path: z.string().optional(),
  status: DeploymentStatusSchema,
  stages: z.record(DeployStageSchema, StageStateSchema),
  /** Per stage: why it was skipped or what it found, and the error of one that failed on its own (quality). */
  stage_notes: z
    .partialRecord(
      DeployStageSchema,
      z.object({ detail: z.string().optional(), error: BerthErrorSchema.optional() }),
    )
    .optional(),
  progress: ProgressSchema.optional(),
  result: DeployResponseSchema.optional(),
  error: BerthErrorSchema.optional(),
  created_at: z.string(),
  finished_at: z.string().optional(),
});
export type DeploymentInfo = z.infer<typeof DeploymentInfoSchema>;

/** `POST /api/training/deploy?wait=false` answers 202 with this. */
export const DeployAcceptedSchema = z.object({
  success: z.literal(true),
  deployment_id: z.uuid(),
  status: DeploymentStatusSchema,
  events_url: z.string(),
});

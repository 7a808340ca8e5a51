import { z } from 'zod';
import {
  RecommendationSchema,
  RecommendRequestSchema,
  SystemReportSchema,
} from '../../../../shared/system.js';
import type { Core } from '../../app.js';
import { withQualityNotes } from '../../quality/recommend-note.js';
import { qualityOf } from '../../quality/requests.js';
import type { RouteTable } from '../route.js';

const SystemQuerySchema = z.object({ refresh: z.enum(['0', '1', 'true', 'false']).optional() }).strict();

/** The machine report and the recommendation for a checkpoint. */
export function registerSystemRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'GET',
      path: '/api/system',
      summary: 'GPUs, CPU, RAM, disk and installed backends (cached; ?refresh=1 detects again)',
      query: SystemQuerySchema,
      response: SystemReportSchema,
    },
    ({ query }) => core.system.report({ refresh: query.refresh === '1' || query.refresh === 'true' }),
  );
  table.add(
    {
      method: 'POST',
      path: '/api/recommend',
      summary: 'What fits where for a checkpoint: every backend with its memory numbers, fit and reasons',
      body: RecommendRequestSchema,
      response: RecommendationSchema,
    },
    async ({ body }) => {
      const checkpoint = await core.jobs.resolve({
        ...(body.job_id ? { job_id: body.job_id } : {}),
        ...(body.model_path ? { model_path: body.model_path } : {}),
        ...(body.checkpoint_path ? { checkpoint_path: body.checkpoint_path } : {}),
      });
      const rec = await core.system.recommend(checkpoint, {
        ...(body.context_length ? { context_length: body.context_length } : {}),
        ...(body.parallel ? { parallel: body.parallel } : {}),
      });
      return withQualityNotes(rec, qualityOf(core).reportsFor(checkpoint.path));
    },
  );
}

import { z } from 'zod';
import {
  BrowseQuerySchema,
  BrowseResultSchema,
  JobSchema,
  RegisterJobRequestSchema,
} from '../../../../shared/checkpoints.js';
import type { Core } from '../../app.js';
import type { RouteTable } from '../route.js';

/** Training runs (jobs) and the folder browser the browser UI uses instead of a native dialog. */
export function registerCheckpointRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'POST',
      path: '/api/training/jobs',
      summary: 'Register a training output folder, model folder or GGUF file (again: same id, re-inspected)',
      body: RegisterJobRequestSchema,
      response: JobSchema,
      status: 201,
    },
    ({ body }) => core.jobs.register(body.path),
  );
  table.add(
    {
      method: 'GET',
      path: '/api/training/jobs',
      summary: 'Registered jobs, newest first',
      response: z.array(JobSchema),
    },
    () => core.jobs.list(),
  );
  table.add(
    { method: 'GET', path: '/api/training/jobs/:id', summary: 'One job, re-inspected', response: JobSchema },
    ({ params }) => core.jobs.get(params.id ?? ''),
  );
  table.add(
    {
      method: 'DELETE',
      path: '/api/training/jobs/:id',
      summary: 'Forget a job (its folder is not touched)',
      response: z.object({ success: z.literal(true) }),
    },
    ({ params }) => {
      core.jobs.remove(params.id ?? '');
      return { success: true as const };
    },
  );
  table.add(
    {
      method: 'GET',
      path: '/api/fs/browse',
      summary: 'List a folder (home and settings.roots only) with models and runs marked',
      query: BrowseQuerySchema,
      response: BrowseResultSchema,
    },
    ({ query }) => core.jobs.browse(query.path),
  );
}

import { z } from 'zod';
import { DeployRequestSchema, DeployResponseSchema } from '../../../../shared/deploy.js';
import { type DeployAcceptedSchema, DeploymentInfoSchema } from '../../../../shared/deployments.js';
import type { Core } from '../../app.js';
import { BerthError } from '../../errors.js';
import type { RouteTable } from '../route.js';
import { openSse } from '../sse.js';

const WaitQuery = z.object({ wait: z.enum(['true', 'false', '1', '0']).optional() }).strict();

/** POST /api/training/deploy and the deployment resources (state, events, result, cancel). */
export function registerDeployRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'POST',
      path: '/api/training/deploy',
      summary:
        'Deploy a checkpoint; waits until the server runs unless ?wait=false (then 202 with the deployment id)',
      body: DeployRequestSchema,
      query: WaitQuery,
      response: DeployResponseSchema,
    },
    async ({ body, query, reply }) => {
      const tracker = core.deploy.start(body);
      if (query.wait === 'false' || query.wait === '0') {
        reply.code(202);
        return {
          success: true,
          deployment_id: tracker.id,
          status: tracker.info.status,
          events_url: `/api/deployments/${tracker.id}/events`,
        } satisfies z.infer<typeof DeployAcceptedSchema>;
      }
      return await tracker.done.catch((error) => {
        throw new BerthError(
          error.code ?? 'INTERNAL',
          error.message ?? String(error),
          error.hint,
          error.details,
        );
      });
    },
  );
  table.add(
    {
      method: 'GET',
      path: '/api/deployments',
      summary: 'Deployments, recent first',
      response: z.array(DeploymentInfoSchema),
    },
    () => core.deploy.list().reverse(),
  );
  table.add(
    {
      method: 'GET',
      path: '/api/deployments/:id',
      summary: 'One deployment',
      response: DeploymentInfoSchema,
    },
    ({ params }) => core.deploy.get(params.id!).info,
  );
  table.add(
    {
      method: 'GET',
      path: '/api/deployments/:id/result',
      summary: 'Waits for a deployment to finish; its deploy response or its error',
      response: DeployResponseSchema,
    },
    async ({ params }) =>
      core.deploy.get(params.id!).done.catch((e) => {
        throw new BerthError(e.code ?? 'INTERNAL', e.message ?? String(e), e.hint, e.details);
      }),
  );
  table.add(
    {
      method: 'GET',
      path: '/api/deployments/:id/events',
      summary:
        "A deployment's events as Server-Sent Events: its history first, then live; ends when it finishes",
    },
    ({ params, request, reply }) => {
      const tracker = core.deploy.get(params.id!);
      const stream = openSse(request, reply);
      const unsubscribe = tracker.follow((event) => {
        stream.send(event);
        if (event.type === 'deployment.status' && event.status !== 'running' && event.status !== 'pending') {
          setImmediate(() => stream.close());
        }
      });
      stream.onClose(unsubscribe);
      if (tracker.finished) stream.close();
    },
  );
  table.add(
    {
      method: 'DELETE',
      path: '/api/deployments/:id',
      summary: 'Cancel a deployment: stops conversion or start-up and cleans up',
      response: DeploymentInfoSchema,
    },
    ({ params }) => core.deploy.cancel(params.id!),
  );
  table.add(
    {
      method: 'DELETE',
      path: '/api/deployments/:id/quality',
      summary:
        "Skip a deployment's quality measurement in progress: the evaluator stops, the server starts without a report",
      response: DeploymentInfoSchema,
    },
    ({ params }) => core.deploy.skipQuality(params.id!),
  );
}

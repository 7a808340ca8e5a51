import { isAbsolute } from 'node:path';
import { z } from 'zod';
import {
  CompareRequestSchema,
  CompareResultSchema,
  QualityReportSchema,
  QualityRequestSchema,
} from '../../../../shared/quality.js';
import type { Core } from '../../app.js';
import { tokenizerFallback } from '../../deploy/tokenizer.js';
import { BerthError, toErrorShape } from '../../errors.js';
import { prepareCompare, qualityOf } from '../../quality/requests.js';
import type { RouteTable } from '../route.js';
import { openSse } from '../sse.js';

function absolute(path: string | undefined, field: string): string | undefined {
  if (path === undefined) return undefined;
  if (!isAbsolute(path))
    throw new BerthError('INVALID_REQUEST', `${field} must be an absolute path: ${path}`);
  return path;
}

/**
 * Quality reports and compare-quants. Both answer as Server-Sent Events: `progress` events (which type, converting
 * or measuring, done/total), then one `result` or `error` event. Closing the stream cancels the work.
 */
export function registerQualityRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'POST',
      path: '/api/quality',
      summary:
        'Measure a GGUF (or a checkpoint quantization) against its F16: KL divergence, top-1 agreement, perplexity (SSE: progress, then result or error)',
      body: QualityRequestSchema,
      response: z.object({ cached: z.boolean(), report: QualityReportSchema }),
    },
    async ({ body, request, reply }) => {
      const gguf = absolute(body.gguf_path, 'gguf_path');
      const against = absolute(body.against, 'against');
      const text = absolute(body.text_path, 'text_path');
      let target = gguf;
      let tokenizerDir: string | undefined;
      if (!target) {
        if (!body.job_id && !body.model_path) {
          throw new BerthError('INVALID_REQUEST', 'Give gguf_path, or job_id / model_path of a checkpoint');
        }
        const checkpoint = await core.jobs.resolve({
          ...(body.job_id ? { job_id: body.job_id } : {}),
          ...(body.model_path ? { model_path: body.model_path } : {}),
          ...(body.checkpoint_path ? { checkpoint_path: body.checkpoint_path } : {}),
        });
        target = checkpoint.path;
        tokenizerDir = tokenizerFallback(checkpoint);
      }
      const measureTarget = target;
      await streamWork(request, reply, (signal, progress) =>
        qualityOf(core).measure({
          target: measureTarget,
          ...(against ? { against } : {}),
          ...(text ? { text } : {}),
          ...(body.quantization ? { quantization: body.quantization } : {}),
          ...(body.context ? { context: body.context } : {}),
          ...(body.windows ? { maxWindows: body.windows } : {}),
          ...(tokenizerDir ? { tokenizerDir } : {}),
          force: Boolean(body.force),
          signal,
          onProgress: progress,
        }),
      );
    },
  );
  table.add(
    {
      method: 'POST',
      path: '/api/quality/compare',
      summary:
        'Convert a checkpoint to several GGUF types; size, fit, tokens/s and measured quality of each (SSE: progress, then result or error)',
      body: CompareRequestSchema,
      response: CompareResultSchema,
    },
    async ({ body, request, reply }) => {
      const run = await prepareCompare(core, body);
      await streamWork(request, reply, run);
    },
  );
  table.add(
    {
      method: 'GET',
      path: '/api/quality/reports',
      summary: 'Quality reports kept for the GGUFs converted from a model folder, newest first',
      query: z.object({ model_path: z.string() }).strict(),
      response: z.object({ reports: z.array(QualityReportSchema) }),
    },
    ({ query }) => ({
      reports: qualityOf(core).reportsFor(absolute(query.model_path, 'model_path') as string),
    }),
  );
}

async function streamWork<T>(
  request: Parameters<typeof openSse>[0],
  reply: Parameters<typeof openSse>[1],
  work: (signal: AbortSignal, progress: (p: unknown) => void) => Promise<T>,
): Promise<void> {
  const abort = new AbortController();
  const stream = openSse(request, reply);
  stream.onClose(() => abort.abort());
  try {
    const result = await work(abort.signal, (p) => stream.send(p, 'progress'));
    stream.send(result, 'result');
  } catch (error) {
    stream.send(toErrorShape(error), 'error');
  } finally {
    stream.close();
  }
}

import { z } from 'zod';
import { ConversionCacheEntrySchema, ConverterEnvSchema } from '../../../../shared/conversion.js';
import type { Core } from '../../app.js';
import { startConverterSetup } from '../../conversion/setup.js';
import type { RouteTable } from '../route.js';

/** The conversion cache (GGUFs Berth converted before) and the converter's Python environment. */
export function registerConversionRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'GET',
      path: '/api/conversions/cache',
      summary: 'Cached GGUFs with their sizes, newest first',
      response: z.object({ entries: z.array(ConversionCacheEntrySchema) }),
    },
    () => ({ entries: core.conversion.cache.list() }),
  );
  table.add(
    {
      method: 'DELETE',
      path: '/api/conversions/cache/:id',
      summary: 'Delete one cached GGUF',
      response: z.object({ success: z.literal(true) }),
    },
    ({ params }) => {
      core.conversion.cache.remove(params.id ?? '');
      return { success: true as const };
    },
  );
  table.add(
    {
      method: 'GET',
      path: '/api/conversions/env',
      summary: "Whether the converter's Python environment is ready, and what is missing",
      response: ConverterEnvSchema,
    },
    () => core.conversion.env(),
  );
  table.add(
    {
      method: 'POST',
      path: '/api/conversions/env/setup',
      summary:
        "Create the converter's Python environment in the background (progress: converter.setup events)",
      status: 202,
      response: z.object({ success: z.literal(true) }),
    },
    () => {
      void startConverterSetup(core);
      return { success: true as const };
    },
  );
}

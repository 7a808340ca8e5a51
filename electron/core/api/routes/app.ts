import { z } from 'zod';
import {
  AppInfoSchema,
  PendingKeySchema,
  PendingSettingSchema,
  SettingsPatchSchema,
  SettingsSchema,
} from '../../../../shared/settings.js';
import type { Core } from '../../app.js';
import type { RouteTable } from '../route.js';
import { openSse } from '../sse.js';
import { ensureToken, regenerateToken } from '../token.js';

/** App info, settings, the token, and the one stream of every core event. */
export function registerAppRoutes(table: RouteTable, core: Core): void {
  table.add(
    {
      method: 'GET',
      path: '/api/app',
      summary: 'Berth version, mode and data folder',
      response: AppInfoSchema,
    },
    () => core.info(),
  );
  table.add(
    { method: 'GET', path: '/api/settings', summary: 'Current settings', response: SettingsSchema },
    () => core.settings.get(),
  );
  table.add(
    {
      method: 'PATCH',
      path: '/api/settings',
      summary: 'Update settings',
      body: SettingsPatchSchema,
      response: SettingsSchema,
    },
    ({ body }) => core.settings.update(body, 'http'),
  );
  table.add(
    {
      method: 'GET',
      path: '/api/settings/pending',
      summary: 'Programs named over the API that wait for the user to apply them in the window',
      response: z.array(PendingSettingSchema),
    },
    () => core.settings.pending(),
  );
  table.add(
    {
      method: 'POST',
      path: '/api/settings/pending/apply',
      summary: 'Put a pending program setting into effect',
      body: PendingKeySchema,
      response: SettingsSchema,
    },
    ({ body }) => core.settings.applyPending(body.key),
  );
  table.add(
    {
      method: 'POST',
      path: '/api/settings/pending/discard',
      summary: 'Drop a pending program setting',
      body: PendingKeySchema,
    },
    ({ body }) => {
      core.settings.discardPending(body.key);
      return { success: true };
    },
  );
  table.add(
    {
      method: 'GET',
      path: '/api/token',
      summary: 'The API token (Settings shows it for scripts)',
      response: z.object({ token: z.string() }),
    },
    () => ({ token: ensureToken(core.paths.tokenFile) }),
  );
  table.add(
    {
      method: 'POST',
      path: '/api/token/regenerate',
      summary: 'Replace the API token; callers must use the returned one from now on',
      response: z.object({ token: z.string() }),
    },
    () => {
      const token = regenerateToken(core.paths.tokenFile);
      core.bus.emit({ type: 'settings.changed' });
      return { token };
    },
  );
  table.add(
    { method: 'GET', path: '/api/events', summary: 'Every core event as Server-Sent Events' },
    ({ request, reply }) => {
      const stream = openSse(request, reply);
      stream.onClose(core.bus.subscribe((event) => stream.send(event)));
    },
  );
}

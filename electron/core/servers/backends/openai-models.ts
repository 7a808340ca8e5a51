import type { ServerInfo } from '../../../../shared/servers.js';

/** Whether an OpenAI-compatible server's GET /v1/models lists this server's model (the readiness check). */
export async function servesModel(
  server: ServerInfo,
  apiKey: string | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  const res = await fetch(`${server.base_url}/v1/models`, {
    ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    return false;
  }
  const body = (await res.json()) as { data?: Array<{ id?: unknown }> };
  return Array.isArray(body.data) && body.data.some((m) => m.id === server.model_name);
}

import { useCallback, useEffect, useState } from 'react';
import type { ConversionCacheEntry } from '../../../../shared/conversion.js';
import { getApi } from '../../api/index.js';
import { formatBytes } from '../../format.js';
import { onCoreEvents } from '../../stores/connect.js';
import { ErrorNote } from '../ErrorNote.js';

let refreshers: Array<() => void> = [];
onCoreEvents((events) => {
  if (events.some((e) => e.type === 'deployment.status' && e.status === 'succeeded'))
    for (const r of refreshers) r();
});

/** The GGUFs Berth converted before (reused on redeploy), with their sizes, deletable one by one. */
export function GgufCache() {
  const [entries, setEntries] = useState<ConversionCacheEntry[]>();
  const [error, setError] = useState<unknown>();
  const load = useCallback(() => getApi().conversions.cache().then(setEntries, setError), []);
  useEffect(() => {
    void load();
    refreshers.push(load);
    return () => {
      refreshers = refreshers.filter((r) => r !== load);
    };
  }, [load]);
  const remove = async (id: string) => {
    try {
      await getApi().conversions.removeCached(id);
      await load();
    } catch (e) {
      setError(e);
    }
  };
  if (!entries) return <ErrorNote error={error} />;
  const total = entries.reduce((sum, e) => sum + e.bytes, 0);
  return (
    <div>
      <ErrorNote error={error} />
      {entries.length === 0 ? (
        <p className="muted">
          No converted models yet. Deploying to Ollama or the built-in engine converts and keeps the GGUF
          here.
        </p>
      ) : (
        <table aria-label="Cached GGUFs">
          <thead>
            <tr>
              <th>Source</th>
              <th>Type</th>
              <th>Size</th>
              <th>Converted</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td className="mono" title={e.gguf_path}>
                  {e.model_path}
                </td>
                <td>{e.quantization}</td>
                <td>{formatBytes(e.bytes)}</td>
                <td>{new Date(e.created_at).toLocaleString()}</td>
                <td>
                  <button
                    type="button"
                    className="secondary small"
                    aria-label={`Delete ${e.quantization} GGUF of ${e.model_path}`}
                    onClick={() => remove(e.id)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={2}>Total</td>
              <td>{formatBytes(total)}</td>
              <td colSpan={2} />
            </tr>
          </tfoot>
        </table>
      )}
    </div>
  );
}

import { useEffect, useState } from 'react';
import type { SystemReport } from '../../../shared/system.js';
import { getApi } from '../api/index.js';
import { ErrorNote } from '../components/ErrorNote.js';

/** System: GPUs, memory and installed backends (filled in by the hardware work). */
export function SystemPage() {
  const [report, setReport] = useState<SystemReport>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    getApi().system.get().then(setReport, setError);
  }, []);
  return (
    <section aria-labelledby="system-title">
      <h1 id="system-title">System</h1>
      <ErrorNote error={error} />
      {report ? (
        <pre className="mono">{JSON.stringify(report, null, 2)}</pre>
      ) : error ? null : (
        <p>Detecting…</p>
      )}
    </section>
  );
}

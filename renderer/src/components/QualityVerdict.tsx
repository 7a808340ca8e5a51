import { useEffect, useState } from 'react';
import { type QualityReport, qualityReading, qualityVerdict } from '../../../shared/quality.js';
import type { ServerInfo } from '../../../shared/servers.js';
import { getApi } from '../api/index.js';

/** The server card's quality line: the kept report of the GGUF it serves, or nothing when none is measured. */
export function QualityVerdict(props: { server: ServerInfo }) {
  const s = props.server;
  const [report, setReport] = useState<QualityReport>();
  useEffect(() => {
    const quality = getApi().quality;
    if (!quality || !s.gguf_path || !s.quantization) return;
    let live = true;
    quality
      .reports(s.model_path)
      .then((all) => {
        if (!live) return;
        // newest first: the latest report of exactly the file this server runs, else of its type
        setReport(
          all.find((r) => r.model_path === s.gguf_path) ?? all.find((r) => r.model_type === s.quantization),
        );
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [s.model_path, s.gguf_path, s.quantization]);
  if (!report) return null;
  return (
    <>
      <dt>Quality</dt>
      <dd title={qualityReading(report)}>{qualityVerdict(report)}</dd>
    </>
  );
}

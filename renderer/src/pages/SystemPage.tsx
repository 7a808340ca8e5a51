import { useEffect } from 'react';
import type { BackendStatus, Gpu, SystemReport } from '../../../shared/system.js';
import { EmptyState } from '../components/EmptyState.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { formatGiB } from '../components/VramFit.js';
import { useSystemStore } from '../stores/system.js';

const BACKEND_NAMES: Record<BackendStatus['name'], string> = {
  vllm: 'vLLM',
  ollama: 'Ollama',
  llamacpp: 'Built-in engine (llama.cpp)',
  converter: 'GGUF converter',
};

const DEVICE_NAMES: Record<NonNullable<BackendStatus['device']>, string> = {
  cuda: 'Serves on: CUDA GPU',
  cpu: 'Serves on: CPU (the CPU build)',
  none: 'Serves on: nothing here (a CUDA build, and torch sees no GPU)',
};

/** System: GPU cards with VRAM bars, the machine, the backends with versions and install hints, warnings. */
export function SystemPage() {
  const { report, error, loading, load } = useSystemStore();
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="system-title">
      <div className="page-head">
        <h1 id="system-title">System</h1>
        <button type="button" onClick={() => void load(true)} disabled={loading}>
          {loading ? 'Detecting…' : 'Detect again'}
        </button>
      </div>
      <ErrorNote error={error} />
      {report ? <Report report={report} /> : error ? null : <p>Detecting GPUs and backends…</p>}
    </section>
  );
}

function Report({ report }: { report: SystemReport }) {
  const llamacpp = report.backends.find((b) => b.name === 'llamacpp');
  return (
    <>
      {report.warnings.length > 0 ? (
        <div className="warning-note" role="status">
          <strong>Detection warnings</strong>
          <ul>
            {report.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <h2>GPUs</h2>
      {report.gpus.length === 0 ? (
        <EmptyState title="No GPU found">
          <p>
            Berth found no NVIDIA, AMD or Apple GPU (nvidia-smi and rocm-smi are not here, or answered with
            nothing). Models still run: on the CPU with the built-in engine
            {llamacpp?.installed ? ' (installed)' : ''} or Ollama, as Q4_K_M GGUF, the fastest type on a CPU.
            Small models (up to ~3 B parameters) answer at a comfortable speed; 7-8 B models work but slowly.
          </p>
          <p>
            Using a GPU box? Run <span className="mono">npx berth serve</span> there and open it here over{' '}
            <span className="mono">ssh -L 7420:127.0.0.1:7420</span>.
          </p>
        </EmptyState>
      ) : (
        <div className="cards">
          {report.gpus.map((gpu) => (
            <GpuCard key={gpu.index} gpu={gpu} />
          ))}
        </div>
      )}
      <h2>Machine</h2>
      <div className="cards">
        <div className="card">
          <header>
            <strong>{report.cpu.model}</strong>
            <span className="muted">{report.cpu.cores} cores</span>
          </header>
          <MemoryBar
            label="RAM"
            total={report.memory.total_bytes}
            used={report.memory.total_bytes - report.memory.free_bytes}
          />
          {report.disk ? (
            <MemoryBar
              label="Disk (data folder)"
              total={report.disk.total_bytes}
              used={report.disk.total_bytes - report.disk.free_bytes}
            />
          ) : null}
          <p className="muted small">
            {report.disk ? <span className="mono">{report.disk.path}</span> : null}
            <br />
            {report.platform} · detected {new Date(report.detected_at).toLocaleTimeString()}
            {report.detect_ms !== undefined ? ` in ${report.detect_ms} ms` : ''}
          </p>
        </div>
      </div>
      <h2>Backends</h2>
      <ul className="backend-list">
        {report.backends.map((b) => (
          <BackendRow key={b.name} backend={b} />
        ))}
      </ul>
    </>
  );
}

function GpuCard({ gpu }: { gpu: Gpu }) {
  const free = gpu.memory_free_bytes;
  const used = gpu.memory_used_bytes ?? (free !== undefined ? gpu.memory_total_bytes - free : undefined);
  const facts = [
    gpu.compute_capability ? `compute ${gpu.compute_capability}` : gpu.gfx_version,
    gpu.driver ? `driver ${gpu.driver}` : undefined,
    gpu.cuda_version ? `CUDA ${gpu.cuda_version}` : undefined,
    gpu.unified_memory ? 'unified memory' : undefined,
    gpu.mig
      ? `MIG slice of GPU ${gpu.mig.parent_index}`
      : gpu.mig_enabled
        ? 'MIG mode: use its slices'
        : undefined,
  ].filter(Boolean);
  return (
    <article className="card gpu-card" aria-label={`GPU ${gpu.index}: ${gpu.name}`}>
      <header>
        <strong>{gpu.name}</strong>
        <span className="muted">#{gpu.index}</span>
      </header>
      {used !== undefined ? (
        <MemoryBar label="VRAM" total={gpu.memory_total_bytes} used={used} />
      ) : (
        <p>{formatGiB(gpu.memory_total_bytes)} VRAM (free unknown: no vendor tool answered)</p>
      )}
      <p className="muted small">{facts.join(' · ')}</p>
      {gpu.processes && gpu.processes.length > 0 ? (
        <details>
          <summary>{gpu.processes.length} process(es) hold VRAM</summary>
          <ul className="mono small">
            {gpu.processes.map((p) => (
              <li key={p.pid}>
                {p.pid} {p.name ?? ''} · {formatGiB(p.used_bytes)}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </article>
  );
}

function MemoryBar(props: { label: string; total: number; used: number }) {
  const share = props.total > 0 ? Math.min(1, Math.max(0, props.used / props.total)) : 0;
  return (
    <div className="memory-bar">
      <div className="memory-bar-label">
        <span>{props.label}</span>
        <span className="mono">
          {formatGiB(props.total - props.used)} free of {formatGiB(props.total)}
        </span>
      </div>
      <div className="vram-bar" role="img" aria-label={`${props.label}: ${Math.round(share * 100)}% used`}>
        <span
          className={`seg ${share > 0.9 ? 'seg-full' : 'seg-used'}`}
          style={{ width: `${(share * 100).toFixed(1)}%` }}
        />
      </div>
    </div>
  );
}

function BackendRow({ backend: b }: { backend: BackendStatus }) {
  return (
    <li className="card backend-row">
      <header>
        <strong>{BACKEND_NAMES[b.name]}</strong>
        <span className={`fit ${b.installed ? 'fit-fits' : 'fit-does_not_fit'}`}>
          {b.installed ? (b.version ?? 'installed') : 'not installed'}
        </span>
      </header>
      {b.detail ? <p className="muted small">{b.detail}</p> : null}
      {b.gpu_kinds ? <p className="small">GPU support: {b.gpu_kinds.join(', ')}</p> : null}
      {b.installed && b.device ? (
        <p className="small">
          {DEVICE_NAMES[b.device]}
          {b.package ? (
            <>
              {' '}
              · package <span className="mono">{b.package}</span>
            </>
          ) : null}
        </p>
      ) : null}
      {!b.installed && b.install_hint ? (
        <p className="small">
          Install: <span className="mono">{b.install_hint}</span>
        </p>
      ) : null}
    </li>
  );
}

import { useEffect, useRef, useState } from 'react';
import type { Checkpoint, Job } from '../../../shared/checkpoints.js';
import type { Quantization } from '../../../shared/deploy.js';
import { getApi } from '../api/index.js';
import { BrowseDialog } from '../components/checkpoints/BrowseDialog.js';
import { CheckpointDetails } from '../components/checkpoints/CheckpointDetails.js';
import { CheckpointTable } from '../components/checkpoints/CheckpointTable.js';
import { LossChart } from '../components/checkpoints/LossChart.js';
import { PathBar } from '../components/checkpoints/PathBar.js';
import { RecentRuns } from '../components/checkpoints/RecentRuns.js';
import { EmptyState } from '../components/EmptyState.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { useAppStore } from '../stores/app.js';
import { useDeploymentsStore } from '../stores/deployments.js';
import { useJobsStore } from '../stores/jobs.js';

/** Opens the deploy screen for a checkpoint (the default for the page's "Deploy…" button). */
function openDeploy(job: Job, checkpoint: Checkpoint, quantization?: Quantization): void {
  useDeploymentsStore.getState().setTarget({
    ...(quantization ? { quantization } : {}),
    job_id: job.id,
    ...(checkpoint.relative_path === '.' ? {} : { checkpoint_path: checkpoint.relative_path }),
    label: checkpoint.relative_path === '.' ? job.name : `${job.name} / ${checkpoint.relative_path}`,
    ...(checkpoint.kind === 'lora-adapter' && checkpoint.lora
      ? {
          adapter: {
            base_model: checkpoint.lora.base_model,
            rank: checkpoint.lora.rank,
            ...(checkpoint.lora.base_model_path ? { base_model_path: checkpoint.lora.base_model_path } : {}),
          },
        }
      : {}),
  });
  useAppStore.getState().navigate('deploy');
}

/**
 * Checkpoints: drop a folder anywhere on the window (or type / browse to it), see its checkpoints, their loss
 * curve and the details of the one selected.
 */
export function CheckpointsPage(props: {
  onDeploy?: (job: Job, checkpoint: Checkpoint, quantization?: Quantization) => void;
}) {
  const { jobs, loaded, selectedId, selectedCheckpoint, busy, error } = useJobsStore();
  const store = useJobsStore.getState();
  const [browsing, setBrowsing] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [dropNote, setDropNote] = useState<string>();
  const pathInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    void useJobsStore.getState().load();
  }, []);

  // The whole window takes a dropped folder while this page shows.
  useEffect(() => {
    let depth = 0;
    const enter = (e: DragEvent) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      depth++;
      setDragging(true);
    };
    const over = (e: DragEvent) => e.preventDefault();
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      depth = 0;
      setDragging(false);
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      const path = getApi().jobs.pathForDrop(file);
      if (path) {
        setDropNote(undefined);
        void useJobsStore.getState().register(path);
      } else {
        setDropNote(
          `Your browser does not tell Berth where "${file.name}" lives. Type its full path below, or use Browse…`,
        );
        pathInput.current?.focus();
      }
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, []);

  const browse = async () => {
    try {
      const picked = await getApi().jobs.pickFolder();
      if (picked) await store.register(picked);
      else setBrowsing(true);
    } catch (e) {
      store.setError(e);
    }
  };

  const job = jobs.find((j) => j.id === selectedId);
  const checkpoint = job?.checkpoints.find((c) => c.relative_path === selectedCheckpoint);
  return (
    <section aria-labelledby="checkpoints-title" className="ckpt-page">
      <h1 id="checkpoints-title">Checkpoints</h1>
      <PathBar
        busy={busy !== undefined}
        inputRef={pathInput}
        onOpen={(p) => {
          setDropNote(undefined);
          void store.register(p);
        }}
        onBrowse={() => void browse()}
      />
      {dropNote ? <p className="ckpt-drop-note">{dropNote}</p> : null}
      {error ? <ErrorNote error={error} /> : null}
      {loaded && jobs.length === 0 && !busy ? (
        <EmptyState title="Drop a training output folder here">
          A Hugging Face model folder, a Trainer output with <code>checkpoint-N/</code> folders, a LoRA
          adapter or a GGUF file. Berth reads only headers: nothing is modified.
        </EmptyState>
      ) : null}
      {jobs.length > 0 ? (
        <div className="ckpt-layout">
          <RecentRuns
            jobs={jobs}
            selectedId={selectedId}
            onSelect={(id) => void store.select(id)}
            onRemove={(id) => void store.remove(id)}
          />
          {job ? (
            <div className="ckpt-main">
              <header className="ckpt-job-head">
                <h2>{job.name}</h2>
                <span className="muted mono">{job.path}</span>
              </header>
              {job.error ? <ErrorNote error={job.error} /> : null}
              {job.kind === 'run' || job.loss_history.length > 0 ? (
                <LossChart
                  history={job.loss_history}
                  checkpoints={job.checkpoints}
                  selected={selectedCheckpoint}
                  onSelect={store.selectCheckpoint}
                />
              ) : null}
              <CheckpointTable
                checkpoints={job.checkpoints}
                selected={selectedCheckpoint}
                onSelect={store.selectCheckpoint}
              />
              {checkpoint ? (
                <CheckpointDetails
                  job={job}
                  checkpoint={checkpoint}
                  onDeploy={props.onDeploy ?? openDeploy}
                />
              ) : null}
            </div>
          ) : null}
        </div>
      ) : null}
      {dragging ? (
        <div className="ckpt-drop-overlay" aria-hidden="true">
          <div>Drop the folder to inspect it</div>
        </div>
      ) : null}
      {browsing ? (
        <BrowseDialog
          onClose={() => setBrowsing(false)}
          onPick={(p) => {
            setBrowsing(false);
            void store.register(p);
          }}
        />
      ) : null}
    </section>
  );
}

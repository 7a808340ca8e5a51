import { EmptyState } from '../components/EmptyState.js';

/** Checkpoints: drop or pick a training output folder (filled in by the checkpoint-intake work). */
export function CheckpointsPage() {
  return (
    <section aria-labelledby="checkpoints-title">
      <h1 id="checkpoints-title">Checkpoints</h1>
      <EmptyState title="Drop a training output folder here">
        A Hugging Face model folder, a Trainer output with <code>checkpoint-N/</code> folders, a LoRA adapter
        or a GGUF file. Berth reads only headers: nothing is modified.
      </EmptyState>
    </section>
  );
}

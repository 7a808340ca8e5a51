import type { Checkpoint, Job, Verdict } from '../../../../shared/checkpoints.js';
import type { Quantization } from '../../../../shared/deploy.js';
import { formatBytes, formatCount, formatLoss } from '../../format.js';
import { RecommendationPanel } from '../../pages/RecommendationPanel.js';
import { ErrorNote } from '../ErrorNote.js';
import { Badges } from './Badges.js';
import { QuantCompare } from './QuantCompare.js';

const TOKENIZER_LABELS: Record<NonNullable<Checkpoint['tokenizer']>['kind'], string> = {
  sentencepiece: 'SentencePiece',
  bpe: 'BPE',
  wordpiece: 'WordPiece',
  unigram: 'Unigram',
  unknown: 'tokenizer of unknown kind',
  none: "no tokenizer files in this folder (deploying takes the run root's, when it has one)",
};

function VerdictLine(props: { name: string; verdict: Verdict | undefined }) {
  const v = props.verdict;
  if (!v) return null;
  return (
    <>
      <dt>{props.name}</dt>
      <dd className={v.ok ? 'ckpt-yes' : 'ckpt-no'}>
        {v.ok ? 'yes' : 'no'}
        {v.reason ? ` — ${v.reason}` : ''}
      </dd>
    </>
  );
}

/** Everything known about the selected checkpoint, and the way on: "Deploy…". */
export function CheckpointDetails(props: {
  job: Job;
  checkpoint: Checkpoint;
  onDeploy(job: Job, checkpoint: Checkpoint, quantization?: Quantization): void;
}) {
  const c = props.checkpoint;
  const s = c.shape;
  const t = c.training;
  const deployable = c.errors.length === 0;
  return (
    <section className="ckpt-details card" aria-label="Checkpoint details">
      <header>
        <div>
          <h2 className="mono">
            {c.relative_path === '.' ? `${props.job.name} (final model)` : c.relative_path}
          </h2>
          <Badges checkpoint={c} />
        </div>
        {/* Deploy slot: the deploy screen (another part of the window) takes over from here. */}
        <button
          type="button"
          className="ckpt-deploy"
          disabled={!deployable}
          title={deployable ? 'Choose a backend and deploy this checkpoint' : 'Fix the errors below first'}
          onClick={() => props.onDeploy(props.job, c)}
        >
          Deploy…
        </button>
      </header>
      {c.errors.map((e) => (
        <ErrorNote key={`${e.code}${e.message}`} error={e} />
      ))}
      {c.warnings.map((w) => (
        <p key={w} className="ckpt-warning">
          {w}
        </p>
      ))}
      <dl className="facts">
        <dt>Architecture</dt>
        <dd>
          {c.architecture ?? '–'} {c.model_type ? <span className="muted">({c.model_type})</span> : null}
        </dd>
        <dt>Parameters</dt>
        <dd>
          {c.parameters !== undefined
            ? `${formatCount(c.parameters)} (${c.parameters.toLocaleString('en-US')})`
            : '– (.bin only)'}
        </dd>
        <dt>Size on disk</dt>
        <dd>
          {formatBytes(c.size_bytes)} in {c.weight_files.length} file{c.weight_files.length === 1 ? '' : 's'}
        </dd>
        <dt>Dtypes</dt>
        <dd className="mono">{c.dtypes.join(', ') || '–'}</dd>
        {s ? (
          <>
            <dt>Shape</dt>
            <dd>
              {s.num_layers} layers · hidden {s.hidden_size}
              {s.intermediate_size ? ` · ffn ${s.intermediate_size}` : ''} · {s.num_attention_heads} heads /{' '}
              {s.num_kv_heads} KV · head dim {s.head_dim}
            </dd>
            <dt>Vocabulary, context</dt>
            <dd>
              {s.vocab_size.toLocaleString('en-US')} tokens · {s.context_length.toLocaleString('en-US')}{' '}
              context
              {s.rope_scaling
                ? ` · rope ${String(s.rope_scaling.rope_type ?? s.rope_scaling.type ?? 'scaled')}`
                : ''}
              {s.tie_word_embeddings ? ' · tied embeddings' : ''}
            </dd>
          </>
        ) : null}
        {c.tokenizer ? (
          <>
            <dt>Tokenizer</dt>
            <dd>
              {TOKENIZER_LABELS[c.tokenizer.kind]} ·{' '}
              {c.tokenizer.chat_template
                ? `chat template (${c.tokenizer.chat_template_source})`
                : 'no chat template'}
            </dd>
          </>
        ) : null}
        {t ? (
          <>
            <dt>Training</dt>
            <dd>
              step {t.global_step ?? c.step ?? '–'}
              {t.epoch !== undefined ? ` · epoch ${t.epoch.toFixed(2)}` : ''} · train{' '}
              {formatLoss(t.train_loss)} · eval {formatLoss(t.eval_loss)}
            </dd>
          </>
        ) : null}
        {c.lora ? (
          <>
            <dt>LoRA</dt>
            <dd>
              rank {c.lora.rank} · alpha {c.lora.alpha} · {c.lora.target_modules.join(', ')}
              <br />
              base <span className="mono">{c.lora.base_model}</span>
              {c.lora.base_model_path ? ' (found)' : ' (not on this machine)'}
            </dd>
          </>
        ) : null}
        {c.gguf ? (
          <>
            <dt>GGUF</dt>
            <dd>
              v{c.gguf.version} · {c.gguf.architecture} · {c.gguf.file_type ?? 'unknown type'} ·{' '}
              {c.gguf.tensor_count} tensors
              {c.gguf.context_length ? ` · ctx ${c.gguf.context_length}` : ''}
            </dd>
          </>
        ) : null}
        <VerdictLine name="vLLM" verdict={c.vllm_servable} />
        <VerdictLine name="GGUF" verdict={c.gguf_convertible} />
        <dt>Path</dt>
        <dd className="mono ckpt-path">{c.path}</dd>
      </dl>
      {deployable && s ? (
        <RecommendationPanel
          target={{ job_id: props.job.id, checkpoint_path: c.relative_path, label: c.relative_path }}
          contextLength={Math.min(8192, s.context_length)}
        />
      ) : null}
      {deployable && s && c.gguf_convertible?.ok ? (
        <QuantCompare job={props.job} checkpoint={c} onDeploy={props.onDeploy} />
      ) : null}
    </section>
  );
}

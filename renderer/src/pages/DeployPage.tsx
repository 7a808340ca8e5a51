import { useState } from 'react';
import type { DeployRequest, DeployServerType, Quantization } from '../../../shared/deploy.js';
import { ModelNameSchema, QuantizationSchema } from '../../../shared/deploy.js';
import type { Recommendation } from '../../../shared/system.js';
import { EmptyState } from '../components/EmptyState.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { useAppStore } from '../stores/app.js';
import { useDeploymentsStore } from '../stores/deployments.js';
import { DeploymentProgress } from './DeploymentProgress.js';
import { measureQualityChoice } from './measure-quality.js';
import { RecommendationPanel } from './RecommendationPanel.js';

const SERVER_TYPES: Array<{ id: DeployServerType; label: string; why: string }> = [
  {
    id: 'auto',
    label: 'Auto',
    why: 'Berth takes the option the recommendation ranks first for this machine.',
  },
  {
    id: 'vllm',
    label: 'vLLM',
    why: 'Serves the Hugging Face folder as is (no conversion); needs an NVIDIA GPU.',
  },
  { id: 'ollama', label: 'Ollama', why: 'Converts to GGUF, quantizes, imports into Ollama.' },
  {
    id: 'llamacpp',
    label: 'Built-in engine',
    why: "Berth's own llama.cpp server: works on any machine, CPU or GPU.",
  },
];

interface FormState {
  server_type: DeployServerType;
  quantization: Quantization;
  context_length: string;
  gpu_memory_utilization: string;
  name: string;
  port: string;
  /** LoRA adapters on Ollama / the built-in engine: '' follows the default (merged below Q8_0). */
  adapter_mode: '' | 'adapter' | 'merged';
  /** LoRA adapters: the base model folder, when Berth did not find it. */
  base_model_path: string;
  /** "Measure quality (KL against F16)": undefined follows the default for this model (the recommendation's). */
  measure_quality: boolean | undefined;
}

/** The trade-off between the two ways a LoRA adapter runs on a GGUF backend (shown next to the choice). */
export function adapterModeWhy(mode: '' | 'adapter' | 'merged', quantization: Quantization): string {
  const low = quantization === 'Q4_K_M' || quantization === 'Q5_K_M';
  const effective = mode || (low ? 'merged' : 'adapter');
  const trade =
    'Adapter: one small LoRA file over the shared base GGUF, so switching checkpoints costs seconds. Merged: a whole model per checkpoint, quantized with the adapter folded in.';
  let head: string;
  if (effective === 'merged') {
    head = mode
      ? `Merged into the ${quantization} base.`
      : `Merged by default at ${quantization}: quantizing the merged model keeps quality an F16 adapter over a ${quantization} base loses.`;
  } else if (low) {
    head = `Adapter: the F16 adapter runs over a ${quantization} base, which loses some of what it learned.`;
  } else {
    head = mode ? `Adapter over the ${quantization} base.` : `Adapter by default at ${quantization}.`;
  }
  return `${head} ${trade}`;
}

/** Field errors for the form, checked as the user types (the core checks again with the same rules). */
export function validateDeployForm(f: FormState): Partial<Record<keyof FormState, string>> {
  const errors: Partial<Record<keyof FormState, string>> = {};
  if (f.name && !ModelNameSchema.safeParse(f.name).success) {
    errors.name = 'Letters, digits, ".", "_" and "-", starting with a letter or digit (at most 64).';
  }
  if (f.base_model_path && !f.base_model_path.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(f.base_model_path))
    errors.base_model_path = "The base model's folder, as an absolute path.";
  if (f.port) {
    const port = Number(f.port);
    if (!Number.isInteger(port) || port < 1024 || port > 65535) errors.port = 'A port from 1024 to 65535.';
  }
  const ctx = Number(f.context_length);
  if (!Number.isInteger(ctx) || ctx < 128 || ctx > 1_048_576)
    errors.context_length = 'A whole number of tokens, 128 or more.';
  const util = Number(f.gpu_memory_utilization);
  if (!(util > 0 && util <= 1)) errors.gpu_memory_utilization = 'A fraction above 0 and at most 1, e.g. 0.9.';
  return errors;
}

/** Deploy: pick the backend and its settings, see why each default was chosen, then watch it happen. */
export function DeployPage() {
  const { target, current, deployments, start } = useDeploymentsStore();
  const settings = useAppStore((s) => s.settings);
  const navigate = useAppStore((s) => s.navigate);
  const [form, setForm] = useState<FormState>({
    server_type: target?.quantization ? 'llamacpp' : 'auto',
    quantization: target?.quantization ?? 'Q4_K_M',
    context_length: '4096',
    gpu_memory_utilization: '0.9',
    name: '',
    port: '',
    adapter_mode: '',
    base_model_path: '',
    measure_quality: undefined,
  });
  const [submitError, setSubmitError] = useState<unknown>();
  /** Fields the user changed: the recommendation no longer sets them. */
  const [touched, setTouched] = useState<Set<keyof FormState>>(
    new Set(target?.quantization ? ['quantization', 'server_type'] : []),
  );
  const [pick, setPick] = useState<{
    quantization?: string;
    utilization?: string;
    maxContext?: number;
    summary: string;
    quality?: Recommendation['quality'];
  }>();
  const running = current ? deployments[current] : undefined;

  if (!target && !running) {
    return (
      <section aria-labelledby="deploy-title">
        <h1 id="deploy-title">Deploy</h1>
        <EmptyState
          title="Pick a checkpoint first"
          action={
            <button type="button" onClick={() => navigate('checkpoints')}>
              Go to Checkpoints
            </button>
          }
        >
          Open a training output folder, select a checkpoint, and press Deploy.
        </EmptyState>
      </section>
    );
  }

  const errors = validateDeployForm(form);
  const set = (patch: Partial<FormState>) => {
    setTouched((t) => new Set([...t, ...(Object.keys(patch) as Array<keyof FormState>)]));
    setForm((f) => ({ ...f, ...patch }));
  };
  // Defaults follow the recommendation until the user sets a field: the best GGUF type that fits, and the
  // GPU share vLLM needs.
  const applyRecommendation = (r: Recommendation) => {
    const usable = r.options.filter((o) => o.installed && o.fit !== 'does_not_fit');
    const best = usable.find((o) => o.recommended) ?? usable[0];
    const gguf = usable.find((o) => o.backend !== 'vllm');
    const vllm = usable.find((o) => o.backend === 'vllm');
    const q = gguf?.config.quantization ?? gguf?.quantization;
    const u = vllm?.config.gpu_memory_utilization;
    setPick({
      ...(q ? { quantization: q } : {}),
      ...(u ? { utilization: String(u) } : {}),
      summary: best ? `${best.fit} on ${best.device}` : r.summary,
      maxContext: r.model.context_length,
      ...(r.quality ? { quality: r.quality } : {}),
    });
    setForm((f) => ({
      ...f,
      // The model cannot attend further than its own context length.
      ...(!touched.has('context_length') && r.model.context_length < Number(f.context_length)
        ? { context_length: String(r.model.context_length) }
        : {}),
      ...(q && !touched.has('quantization') ? { quantization: q } : {}),
      ...(u && !touched.has('gpu_memory_utilization') ? { gpu_memory_utilization: String(u) } : {}),
    }));
  };
  const gguf = form.server_type === 'ollama' || form.server_type === 'llamacpp';
  const defaultPort =
    form.server_type === 'vllm'
      ? settings?.ports.vllm
      : form.server_type === 'ollama'
        ? settings?.ports.ollama
        : settings?.ports.llamacpp;

  // Measure quality: the GGUF backends with a quantized type (F16 is the reference itself; vLLM makes no GGUF).
  const quality = measureQualityChoice(form, gguf, Boolean(target?.adapter), pick?.quality);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!target || Object.keys(errors).length > 0) return;
    setSubmitError(undefined);
    const request: DeployRequest = {
      ...(target.job_id ? { job_id: target.job_id } : { model_path: target.model_path! }),
      ...(target.checkpoint_path ? { checkpoint_path: target.checkpoint_path } : {}),
      server_type: form.server_type,
      ...(form.name ? { name: form.name } : {}),
      ...(target.adapter && form.base_model_path ? { base_model_path: form.base_model_path } : {}),
      // Untouched, the checkbox shows the core's default (the same rule, from the recommendation) and the core
      // applies it; a box the user set is sent as set.
      ...(quality.applies && form.measure_quality !== undefined
        ? { measure_quality: form.measure_quality }
        : {}),
      config: {
        ...(target.adapter && gguf && form.adapter_mode ? { adapter_mode: form.adapter_mode } : {}),
        context_length: Number(form.context_length),
        ...(gguf || form.server_type === 'auto' ? { quantization: form.quantization } : {}),
        ...(form.server_type === 'vllm' || form.server_type === 'auto'
          ? { gpu_memory_utilization: Number(form.gpu_memory_utilization) }
          : {}),
        ...(form.port ? { port: Number(form.port) } : {}),
      },
    };
    try {
      await start(request, target.label);
    } catch (error) {
      setSubmitError(error);
    }
  };

  return (
    <section aria-labelledby="deploy-title">
      <h1 id="deploy-title">Deploy</h1>
      {target ? (
        <p className="muted">
          Checkpoint: <code>{target.label}</code>
        </p>
      ) : null}
      {target ? (
        <RecommendationPanel
          target={target}
          contextLength={Number(form.context_length) || 4096}
          onRecommendation={applyRecommendation}
        />
      ) : null}
      {target ? (
        <form className="deploy-form" onSubmit={submit} noValidate>
          <fieldset>
            <legend>Server</legend>
            <div className="segmented" role="radiogroup" aria-label="Server type">
              {SERVER_TYPES.map((t) => (
                <label key={t.id} className={form.server_type === t.id ? 'selected' : ''}>
                  <input
                    type="radio"
                    name="server_type"
                    value={t.id}
                    checked={form.server_type === t.id}
                    onChange={() => set({ server_type: t.id })}
                  />
                  {t.label}
                </label>
              ))}
            </div>
            <p className="why">{SERVER_TYPES.find((t) => t.id === form.server_type)?.why}</p>
          </fieldset>
          <fieldset>
            <legend>Settings</legend>
            {gguf || form.server_type === 'auto' ? (
              <Field
                label="Quantization"
                why={
                  pick?.quantization && form.quantization === pick.quantization
                    ? `${pick.quantization}: what the recommendation picks for this machine (${pick.summary}).`
                    : 'Q4_K_M keeps quality close to F16 at about a third of the size; pick higher where it fits.'
                }
              >
                <select
                  value={form.quantization}
                  onChange={(e) => set({ quantization: e.target.value as Quantization })}
                >
                  {QuantizationSchema.options.map((q) => (
                    <option key={q} value={q}>
                      {q}
                    </option>
                  ))}
                </select>
              </Field>
            ) : null}
            {target.adapter && (gguf || form.server_type === 'auto') ? (
              <Field label="LoRA adapter" why={adapterModeWhy(form.adapter_mode, form.quantization)}>
                <select
                  value={form.adapter_mode}
                  onChange={(e) => set({ adapter_mode: e.target.value as FormState['adapter_mode'] })}
                >
                  <option value="">Default for this GGUF type</option>
                  <option value="adapter">Adapter over the base GGUF</option>
                  <option value="merged">Merged into the base</option>
                </select>
              </Field>
            ) : null}
            {target.adapter ? (
              <Field
                label="Base model"
                why={
                  target.adapter.base_model_path
                    ? `Found: ${target.adapter.base_model_path} (for "${target.adapter.base_model}"). Another folder here overrides it.`
                    : `"${target.adapter.base_model}" is not on this machine: give its folder.`
                }
                error={errors.base_model_path}
              >
                <input
                  value={form.base_model_path}
                  placeholder={target.adapter.base_model_path ?? '/path/to/base-model'}
                  onChange={(e) => set({ base_model_path: e.target.value })}
                />
              </Field>
            ) : null}
            {quality.shown ? (
              <label className="field">
                <span className="field-label">Quality</span>
                <span>
                  <input
                    type="checkbox"
                    checked={quality.checked ?? false}
                    disabled={!quality.applies}
                    onChange={(e) => set({ measure_quality: e.target.checked })}
                  />{' '}
                  Measure quality (KL against F16)
                </span>
                <span className="why">{quality.reason}</span>
              </label>
            ) : null}
            <Field
              label="Context length"
              why={
                pick?.maxContext !== undefined && Number(form.context_length) === pick.maxContext
                  ? `${pick.maxContext}: the longest context this model was trained for.`
                  : '4096 tokens covers most chats; the KV cache grows linearly with it.'
              }
              error={errors.context_length}
            >
              <input
                inputMode="numeric"
                value={form.context_length}
                onChange={(e) => set({ context_length: e.target.value })}
              />
            </Field>
            {form.server_type === 'vllm' || form.server_type === 'auto' ? (
              <Field
                label="GPU memory utilization"
                why={
                  pick?.utilization && form.gpu_memory_utilization === pick.utilization
                    ? `${pick.utilization}: enough for the weights and KV cache of this context, leaving the rest of the GPU free.`
                    : "vLLM's default, 0.9: it takes this share of the GPU for weights and KV cache."
                }
                error={errors.gpu_memory_utilization}
              >
                <input
                  inputMode="decimal"
                  value={form.gpu_memory_utilization}
                  onChange={(e) => set({ gpu_memory_utilization: e.target.value })}
                />
              </Field>
            ) : null}
            <Field
              label="Name"
              why="What clients pass as model; empty means one made from the folder and step."
              error={errors.name}
            >
              <input
                value={form.name}
                placeholder="derived from the checkpoint"
                onChange={(e) => set({ name: e.target.value })}
              />
            </Field>
            <Field
              label="Port"
              why={`Empty means the next free port from ${defaultPort ?? 'the backend default'}.`}
              error={errors.port}
            >
              <input
                inputMode="numeric"
                value={form.port}
                placeholder={String(defaultPort ?? '')}
                onChange={(e) => set({ port: e.target.value })}
              />
            </Field>
          </fieldset>
          <ErrorNote error={submitError} />
          <button type="submit" disabled={Object.keys(errors).length > 0}>
            Deploy
          </button>
        </form>
      ) : null}
      {running ? <DeploymentProgress deployment={running} /> : null}
    </section>
  );
}

function Field(props: {
  label: string;
  why: string;
  error?: string | undefined;
  children: React.ReactElement;
}) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is props.children
    <label className="field">
      <span className="field-label">{props.label}</span>
      {props.children}
      {props.error ? (
        <span className="field-error" role="alert">
          {props.error}
        </span>
      ) : (
        <span className="why">{props.why}</span>
      )}
    </label>
  );
}

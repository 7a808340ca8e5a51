import type { Checkpoint } from '../../../../shared/checkpoints.js';

/** What Berth can do with a checkpoint, at a glance; the reason shows on hover. */
export function Badges(props: { checkpoint: Checkpoint }) {
  const c = props.checkpoint;
  const badges: Array<{ label: string; tone: 'ok' | 'no' | 'info' | 'best' | 'bad'; title: string }> = [];
  if (c.errors.length > 0) badges.push({ label: 'error', tone: 'bad', title: c.errors[0]?.message ?? '' });
  if (c.is_best) badges.push({ label: 'best', tone: 'best', title: 'The Trainer’s best checkpoint' });
  if (c.is_final) badges.push({ label: 'final', tone: 'info', title: 'The final model at the run’s root' });
  if (c.vllm_servable)
    badges.push({
      label: 'vLLM',
      tone: c.vllm_servable.ok ? 'ok' : 'no',
      title: c.vllm_servable.ok ? 'vLLM can serve this folder' : (c.vllm_servable.reason ?? ''),
    });
  if (c.kind === 'gguf')
    badges.push({ label: 'GGUF', tone: 'ok', title: 'Already GGUF: no conversion needed' });
  else if (c.gguf_convertible)
    badges.push({
      label: 'GGUF',
      tone: c.gguf_convertible.ok ? 'ok' : 'no',
      title: c.gguf_convertible.ok
        ? 'Converts to GGUF for Ollama / llama.cpp'
        : (c.gguf_convertible.reason ?? ''),
    });
  if (c.lora)
    badges.push({ label: `LoRA r${c.lora.rank}`, tone: 'info', title: `Adapter on ${c.lora.base_model}` });
  return (
    <span className="ckpt-badges">
      {badges.map((b) => (
        <span key={b.label} className={`ckpt-badge ckpt-badge-${b.tone}`} title={b.title}>
          {b.tone === 'no' ? <s>{b.label}</s> : b.label}
        </span>
      ))}
    </span>
  );
}

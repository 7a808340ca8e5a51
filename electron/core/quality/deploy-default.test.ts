// The rule behind the deploy form's "Measure quality" default (shared/quality.ts: estimateQualitySeconds).
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimateQualitySeconds, QUALITY_COST, qualityDefault } from '../../../shared/quality.js';
import { deployQualityDefault } from './deploy-default.js';
import { defaultEvalTextPath } from './text.js';

const tiny = { parameters: 15_000, vocab_size: 320, context_length: 256, gpu: false };
// Qwen2.5-0.5B's shape: 494 M parameters, a 151,936-token vocabulary.
const qwen05 = { parameters: 494_000_000, vocab_size: 151_936, context_length: 32_768, gpu: false };

describe('measure quality by default', () => {
  it('the estimate reads the size of the text that actually ships', () => {
    expect(statSync(defaultEvalTextPath()).size).toBe(QUALITY_COST.default_text_bytes);
  });

  it('a tiny model is on ("small model: about N s"), a 0.5B model with a big vocabulary is off', () => {
    const small = qualityDefault(tiny);
    expect(small.measure).toBe(true);
    expect(small.reason).toMatch(/^small model: about \d+ s$/);
    const large = qualityDefault(qwen05);
    expect(large.measure).toBe(false);
    expect(large.reason).toMatch(
      /^large model: takes over a minute \(about \d+ s here\); measure from the checkpoint page later$/,
    );
    // 1.5B parameters: minutes
    expect(qualityDefault({ ...qwen05, parameters: 1_500_000_000 }).reason).toMatch(
      /takes minutes \(about \d+ min here\)/,
    );
    expect(qualityDefault(undefined).measure).toBe(false);
  });

  it('grows with parameters and with the vocabulary; a window cap and a GPU shorten it', () => {
    const base = estimateQualitySeconds(qwen05);
    expect(estimateQualitySeconds({ ...qwen05, parameters: 2 * qwen05.parameters })).toBeGreaterThan(base);
    expect(estimateQualitySeconds({ ...qwen05, vocab_size: 32_000 })).toBeLessThan(base);
    expect(estimateQualitySeconds({ ...qwen05, max_windows: 1 })).toBeLessThan(base);
    expect(estimateQualitySeconds({ ...qwen05, gpu: true })).toBeLessThan(base);
  });

  it('from a checkpoint: its shape and parameters; BERTH_QUALITY_ON_DEPLOY=off turns the default off', () => {
    const shape = {
      architecture: 'LlamaForCausalLM',
      model_type: 'llama',
      num_layers: 2,
      hidden_size: 16,
      num_attention_heads: 4,
      num_kv_heads: 2,
      head_dim: 4,
      vocab_size: 320,
      context_length: 256,
      tie_word_embeddings: false,
    };
    expect(deployQualityDefault({ shape, parameters: 15_000 }, false, {}).measure).toBe(true);
    expect(deployQualityDefault({ shape }, false, { BERTH_QUALITY_ON_DEPLOY: 'off' }).measure).toBe(false);
    expect(deployQualityDefault({}, false, {}).measure).toBe(false);
  });
});

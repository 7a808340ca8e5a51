/**
 * What `ollama create` needs besides the GGUF to chat with it. Ollama reads `tokenizer.chat_template` from the
 * GGUF and recognizes the common families (it ships Go templates for them), so for those Berth sends nothing.
 * For a model without a chat template, or with one Ollama will not recognize, Berth sends a plain template and
 * stop words (the model's end-of-sequence token), so generation ends where the model meant it to.
 */
export interface OllamaChatFormat {
  /** The family Ollama recognizes, `none` (no chat template) or `unknown`. */
  family: string;
  template?: string;
  stop: string[];
}

/** Markers of the chat-template families Ollama's template matcher knows, checked in this order. */
const KNOWN_FAMILIES: Array<[family: string, marker: string]> = [
  ['llama3', '<|start_header_id|>'],
  ['chatml', '<|im_start|>'],
  ['gemma', '<start_of_turn>'],
  ['phi3', '<|assistant|>'],
  ['mistral', '[INST]'],
  ['command-r', '<|START_OF_TURN_TOKEN|>'],
  ['deepseek', '<｜Assistant｜>'],
];

/** A completion-style template: the system text, then the prompt (what a base model continues). */
export const PLAIN_TEMPLATE = '{{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}';
/** For chat with an unrecognized template: role-tagged turns, ended by the model's own stop token. */
export const ROLE_TEMPLATE =
  '{{ if .System }}system: {{ .System }}\n{{ end }}{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant: ';

/** Chooses what to send from the GGUF's chat template and its end-of-sequence token text. */
export function ollamaChatFormat(
  chatTemplate: string | undefined,
  eosToken: string | undefined,
): OllamaChatFormat {
  const eos = eosToken ? [eosToken] : [];
  if (!chatTemplate?.trim()) return { family: 'none', template: PLAIN_TEMPLATE, stop: eos };
  const known = KNOWN_FAMILIES.find(([, marker]) => chatTemplate.includes(marker));
  if (known) return { family: known[0], stop: [] };
  return { family: 'unknown', template: ROLE_TEMPLATE, stop: [...eos, '\nuser:'] };
}

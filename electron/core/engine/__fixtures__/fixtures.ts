import { fileURLToPath } from 'node:url';

/** A real, tiny GGUF (random weights; see SOURCES.md). */
export const TINY_GGUF = fileURLToPath(new URL('./llama-2-tiny-random.gguf', import.meta.url));

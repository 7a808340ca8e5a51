import { z } from 'zod';

/** An OpenAI-style error, answered as `{ error: { message, type, param, code } }` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
const ContentSchema = z.union([z.string(), z.array(TextPartSchema)]).nullish();
const StopSchema = z.union([z.string(), z.array(z.string()).max(4)]).nullish();

/** Sampling fields both endpoints share. */
const SamplingShape = {
  model: z.string().optional(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: StopSchema,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  n: z.literal(1, 'only n = 1 is supported').nullish(),
};

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: ContentSchema,
  name: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const ChatRequestSchema = z.object({
  ...SamplingShape,
  messages: z.array(ChatMessageSchema).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

export const CompletionRequestSchema = z.object({
  ...SamplingShape,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
  echo: z.literal(false, 'echo is not supported').nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** Validates a request body, turning zod's issues into one 400 naming the first bad field. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.join('.') || null;
  throw new ApiError(
    400,
    `${param ?? 'body'}: ${issue?.message ?? 'invalid request'}`,
    undefined,
    null,
    param,
  );
}

/** The text of a message's content (string, or the text parts joined). */
export function contentText(content: ChatMessage['content']): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/** The generation settings the runner needs, in one shape for both endpoints. */
export interface Sampling {
  maxTokens?: number;
  temperature: number;
  topP?: number;
  seed?: number;
  stop: string[];
}

/** Reads the sampling fields of a request. OpenAI's default temperature is 1. */
export function samplingOf(request: ChatRequest | CompletionRequest): Sampling {
  const maxTokens =
    ('max_completion_tokens' in request ? request.max_completion_tokens : undefined) ?? request.max_tokens;
  const stop = request.stop == null ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;
  return {
    ...(maxTokens != null ? { maxTokens } : {}),
    temperature: request.temperature ?? 1,
    ...(request.top_p != null ? { topP: request.top_p } : {}),
    ...(request.seed != null ? { seed: request.seed } : {}),
    stop: stop.filter((s) => s.length > 0),
  };
}

export type FinishReason = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

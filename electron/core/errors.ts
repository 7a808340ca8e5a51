import { type BerthErrorShape, statusForCode } from '../../shared/errors.js';

/** An error the user can act on: a code, a message and, where we know one, a hint. */
export class BerthError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, hint?: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'BerthError';
    this.code = code;
    this.hint = hint;
    this.details = details;
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return statusForCode(this.code);
  }

  toJSON(): BerthErrorShape {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Turns anything thrown into the shared error shape, keeping BerthError's code and hint. */
export function toErrorShape(error: unknown): BerthErrorShape {
  if (error instanceof BerthError) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'INTERNAL',
    message: message || 'Unexpected error',
    hint: 'This is a bug in Berth; the log has details.',
  };
}

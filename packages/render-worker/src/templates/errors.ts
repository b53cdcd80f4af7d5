import { TemplateCompileError } from "@ticketgen/shared";

export { TemplateCompileError };

/** No built-in or stored template matches the reference of a render job. */
export class TemplateNotFoundError extends Error {
  override readonly name = "TemplateNotFoundError";
}

/** A template threw while rendering one ticket; only that ticket fails. */
export class TemplateRenderError extends Error {
  override readonly name: string = "TemplateRenderError";
}

/**
 * A template went past a limit on one ticket (time, memory, output size, pages); only that
 * ticket fails, and a retry would go past it again.
 */
export class TemplateLimitError extends TemplateRenderError {
  override readonly name: string = "TemplateLimitError";
}

/** True for errors a retry cannot fix: the template is missing, does not compile, throws or exceeds a limit. */
export function isTemplateError(error: unknown): error is TemplateNotFoundError | TemplateCompileError | TemplateRenderError {
  return error instanceof TemplateNotFoundError || error instanceof TemplateCompileError || error instanceof TemplateRenderError;
}

import { TemplateCompileError } from "@ticketgen/shared";

export { TemplateCompileError };

/** No built-in or stored template matches the reference of a render job. */
export class TemplateNotFoundError extends Error {
  override readonly name = "TemplateNotFoundError";
}

/** A template threw while rendering one ticket; only that ticket fails. */
export class TemplateRenderError extends Error {
  override readonly name = "TemplateRenderError";
}

/** True for errors a retry cannot fix: the template is missing, does not compile or throws. */
export function isTemplateError(error: unknown): error is TemplateNotFoundError | TemplateCompileError | TemplateRenderError {
  return error instanceof TemplateNotFoundError || error instanceof TemplateCompileError || error instanceof TemplateRenderError;
}

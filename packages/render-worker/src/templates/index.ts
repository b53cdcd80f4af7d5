export { isTemplateError, TemplateCompileError, TemplateLimitError, TemplateNotFoundError, TemplateRenderError } from "./errors.ts";
export { withDoctype } from "./doctype.ts";
export { DEFAULT_TEMPLATES_PATH } from "../paths.ts";
export {
  TemplateRegistry,
  builtInCandidates,
  type TemplateRef,
  type TemplateRegistryOptions,
  type TemplateSourceFetcher,
} from "./template-registry.ts";
export { formatBytes, TemplateSandbox, type TemplateOutcome, type TemplateSandboxOptions } from "./sandbox/template-sandbox.ts";
export { MARKUP_FIELDS, type TemplateSource, type TemplateView } from "./sandbox/protocol.ts";
export { normalizeLocale, ticketView, type TicketRenderJob, type TicketView, type TicketViewJob } from "./ticket-view.ts";
export { qrSvg, type QrSvgOptions } from "../qr/qr-svg.ts";

export { isTemplateError, TemplateCompileError, TemplateNotFoundError, TemplateRenderError } from "./errors.ts";
export { CONTENT_SECURITY_POLICY, CSP_META, renderTicketHtml, withContentSecurityPolicy } from "./render-html.ts";
export { DEFAULT_TEMPLATES_PATH } from "../paths.ts";
export {
  TemplateRegistry,
  builtInCandidates,
  type TemplateRef,
  type TemplateRegistryOptions,
  type TemplateSourceFetcher,
} from "./template-registry.ts";
export { normalizeLocale, ticketView, type TicketRenderJob, type TicketView, type TicketViewJob } from "./ticket-view.ts";
export { qrSvg, type QrSvgOptions } from "../qr/qr-svg.ts";

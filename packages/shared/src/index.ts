export * from "./config.ts";
export * from "./jobs.ts";
export * from "./logger.ts";
export * from "./ticket-code.ts";
export * from "./token/key-ring.ts";
export * from "./token/qr-token.ts";

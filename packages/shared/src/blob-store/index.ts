export * from "./blob-store.ts";
export * from "./create-blob-store.ts";
export * from "./local-blob-store.ts";
export * from "./s3-blob-store.ts";
export * from "./write-check.ts";

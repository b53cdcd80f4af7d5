export * from "./compile-template.ts";
export * from "./partial-expansion.ts";

// @ts-check
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/", "**/dist/", "packages/shared/src/gen/", ".data/", "coverage/"] },
  js.configs.recommended,
  { languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX },
    settings: {
      // Without these the import plugin skips .ts files when it follows imports, and finds no cycle.
      "import-x/extensions": [".ts", ".js", ".mjs"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
    },
    rules: {
      // Type-aware rules that catch real bugs at an affordable cost (the full type-checked
      // presets mostly flag `any` from untyped JSON, which validation already narrows).
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "import-x/no-cycle": "error",
      "import-x/no-self-import": "error",
      "import-x/no-duplicates": "error",
    },
  },
  {
    files: ["packages/*/src/**/*.ts"],
    rules: {
      // A getter in an object literal is a new function each time the literal is made, and V8
      // gives each such object a hidden class of its own, kept in the old generation until a
      // full collection; whatever the getter closes over (a call, its stream) then survives
      // every scavenge. Per-call objects with getters are classes (server/grpc-js-unary.ts).
      "no-restricted-syntax": [
        "error",
        {
          selector: "ObjectExpression > Property[kind=/^(get|set)$/]",
          message: "No accessors in object literals: use a class, whose accessors are shared (see eslint.config.js).",
        },
      ],
    },
  },
  prettier,
);

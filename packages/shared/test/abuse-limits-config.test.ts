import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/index.ts";

const SECRET = "0123456789abcdef0123456789abcdef";

describe("abuse limits config", () => {
  it("defaults: per-tenant budgets per minute and batches in flight", () => {
    expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET }).abuseLimits).toEqual({
      createPerMinute: 100_000,
      validatePerMinute: 300_000,
      otherPerMinute: 60_000,
      maxBatchesInFlight: 20,
    });
  });

  it("reads each from the environment", () => {
    const env = {
      RATE_LIMIT_CREATE_PER_MINUTE: "10",
      RATE_LIMIT_VALIDATE_PER_MINUTE: "20",
      RATE_LIMIT_OTHER_PER_MINUTE: "30",
      MAX_BATCHES_IN_FLIGHT: "4",
    };
    expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET, ...env }).abuseLimits).toEqual({
      createPerMinute: 10,
      validatePerMinute: 20,
      otherPerMinute: 30,
      maxBatchesInFlight: 4,
    });
  });

  it("refuses a budget of 0 or a word, naming the variable", () => {
    expect(() => loadConfig({ QR_SIGNATURE_SECRET: SECRET, RATE_LIMIT_VALIDATE_PER_MINUTE: "0" })).toThrow(
      'invalid configuration: RATE_LIMIT_VALIDATE_PER_MINUTE: must be an integer from 1 to 100000000 (got "0")',
    );
    expect(() => loadConfig({ QR_SIGNATURE_SECRET: SECRET, MAX_BATCHES_IN_FLIGHT: "many" })).toThrow(
      'invalid configuration: MAX_BATCHES_IN_FLIGHT: must be an integer from 1 to 10000 (got "many")',
    );
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { withTimeout } from "../src/with-timeout.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** A promise settled from outside. */
function pending<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("withTimeout", () => {
  it("resolves with the promise's value and clears its timer", async () => {
    vi.useFakeTimers();
    const onTimeout = vi.fn(() => "late");
    const call = pending<string>();
    const result = withTimeout(call.promise, 1000, onTimeout);
    expect(vi.getTimerCount()).toBe(1);
    call.resolve("answer");
    expect(await result).toBe("answer");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2000);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("rejects with the promise's error and clears its timer", async () => {
    vi.useFakeTimers();
    const call = pending<string>();
    const result = withTimeout(call.promise, 1000, () => "late");
    call.reject(new Error("connection reset"));
    await expect(result).rejects.toThrow("connection reset");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("after ms, settles with what onTimeout returns, once, and ignores the promise's later rejection", async () => {
    vi.useFakeTimers();
    const onTimeout = vi.fn(() => "expired");
    const call = pending<string>();
    const result = withTimeout(call.promise, 1000, onTimeout);
    await vi.advanceTimersByTimeAsync(999);
    expect(onTimeout).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toBe("expired");
    call.reject(new Error("too late to matter"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("after ms, rejects with what onTimeout throws", async () => {
    vi.useFakeTimers();
    const result = withTimeout(new Promise<never>(() => {}), 50, () => {
      throw new Error("no answer within 50 ms");
    });
    const outcome = expect(result).rejects.toThrow("no answer within 50 ms");
    await vi.advanceTimersByTimeAsync(50);
    await outcome;
  });

  it("follows a promise that onTimeout returns", async () => {
    vi.useFakeTimers();
    const result = withTimeout(new Promise<string>(() => {}), 10, () => Promise.resolve("cleaned up"));
    await vi.advanceTimersByTimeAsync(10);
    expect(await result).toBe("cleaned up");
  });
});

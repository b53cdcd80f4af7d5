/**
 * `promise`'s outcome if it settles within `ms`; otherwise `onTimeout()`'s (what it returns,
 * or what it throws), and `promise`'s later outcome is ignored, a rejection included. The
 * timer is cleared as soon as either happens, so a settled call keeps no timer (nor the
 * process) alive. The callees (ioredis, BullMQ, Playwright, node:http2) take no AbortSignal;
 * p-timeout's `fallback` would do the same, but not for less than these lines, in three packages.
 */
export function withTimeout<T, U = T>(promise: Promise<T>, ms: number, onTimeout: () => U | Promise<U>): Promise<T | U> {
  return new Promise<T | U>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

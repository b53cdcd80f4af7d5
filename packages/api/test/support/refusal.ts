import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";

/** The code (by name) and message a call was refused with; fails the test when it succeeded. */
export async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(error, "the call should have been refused").toBeInstanceOf(ConnectError);
  return { code: Code[error!.code], message: error!.rawMessage };
}

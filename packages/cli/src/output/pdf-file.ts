import { open, rename, rm } from "node:fs/promises";
import { ConnectError } from "@connectrpc/connect";
import { CliError, fileProblem } from "../errors.ts";

export interface SavedFile {
  file: string;
  size: number;
}

/**
 * Writes a streamed PDF to `file`. The chunks go to `<file>.part`, renamed at the end, so a
 * download cut short never leaves a truncated PDF under the real name. The download starts
 * only once the file is open: a call started and never read would keep the process alive.
 */
export async function savePdf(file: string, download: () => AsyncIterable<{ chunk: Uint8Array }>): Promise<SavedFile> {
  const partial = `${file}.part`;
  const cannotWrite = (error: unknown) => new CliError(`${file}: cannot write: ${fileProblem(error)}`);
  const handle = await open(partial, "w").catch((error: unknown) => {
    throw cannotWrite(error);
  });
  let size = 0;
  try {
    for await (const { chunk } of download()) {
      await handle.write(chunk);
      size += chunk.length;
    }
    await handle.close();
    await rename(partial, file);
    return { file, size };
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(partial, { force: true });
    throw error instanceof ConnectError ? error : cannotWrite(error);
  }
}

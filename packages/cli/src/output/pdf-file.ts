import { open, rename, rm } from "node:fs/promises";
import { CliError, fileProblem } from "../errors.ts";

export interface SavedFile {
  file: string;
  size: number;
}

/**
 * Writes a streamed PDF to `file`. The chunks go to `<file>.part`, renamed at the end, so a
 * download cut short never leaves a truncated PDF under the real name.
 */
export async function savePdf(chunks: AsyncIterable<{ chunk: Uint8Array }>, file: string): Promise<SavedFile> {
  const partial = `${file}.part`;
  const handle = await open(partial, "w").catch((error: unknown) => {
    throw new CliError(`${file}: cannot write: ${fileProblem(error)}`);
  });
  let size = 0;
  try {
    for await (const { chunk } of chunks) {
      await handle.write(chunk);
      size += chunk.length;
    }
    await handle.close();
    await rename(partial, file);
    return { file, size };
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(partial, { force: true });
    throw error;
  }
}

// madge 8 ships no types; just what the tests use.
declare module "madge" {
  export interface MadgeConfig {
    baseDir?: string;
    fileExtensions?: string[];
    tsConfig?: string;
  }

  export interface MadgeResult {
    /** Each module (relative to baseDir) with the modules it imports. */
    obj(): Record<string, string[]>;
    /** Each cycle as the modules along it. */
    circular(): string[][];
    /** Imports madge could not resolve to a file. */
    warnings(): { skipped: string[] };
  }

  export default function madge(path: string | string[], config?: MadgeConfig): Promise<MadgeResult>;
}

import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Keyset cursor of ListTemplates and ListAssets: the last id of the page. Opaque to callers;
 * unsigned, since an id only says where a tenant's own listing resumes.
 */
export function encodeIdPageToken(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

/** The id a page token names, or INVALID_ARGUMENT naming the RPC that did not return it. */
export function decodeIdPageToken(token: string, rpc: string): string {
  const id = Buffer.from(token, "base64url").toString("utf8");
  if (!/^[\w.-]{1,128}$/.test(id) || encodeIdPageToken(id) !== token) {
    throw new ConnectError(`page_token: is not a token returned by ${rpc}`, Code.InvalidArgument);
  }
  return id;
}

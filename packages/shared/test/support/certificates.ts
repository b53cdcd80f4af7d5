import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  dir: string;
  /** The CA that signed the server certificate, PEM. */
  ca: Buffer;
  /** Server certificate for localhost and 127.0.0.1, and its key (PEM files). */
  certFile: string;
  keyFile: string;
  /** A valid key that is not the certificate's. */
  otherKeyFile: string;
}

function openssl(dir: string, args: string[]): void {
  const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (run.error) throw new Error(`openssl: ${run.error.message}; these tests need openssl on PATH`);
  if (run.status !== 0) throw new Error(`openssl ${args.join(" ")} exited ${run.status}: ${run.stderr}`);
}

/** A throw-away CA and a server certificate it signed, made with openssl in a temporary directory. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "ticketgen-tls-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(dir, ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ticketgen test CA"]);
  openssl(dir, ["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  ]);
  openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.key"]);
  return {
    dir,
    ca: readFileSync(join(dir, "ca.pem")),
    certFile: join(dir, "server.pem"),
    keyFile: join(dir, "server.key"),
    otherKeyFile: join(dir, "other.key"),
  };
}

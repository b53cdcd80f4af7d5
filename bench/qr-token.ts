/**
 * QR token cost: ticketgen's TG1 token against the old design (JSON + hex HMAC-SHA256).
 *
 *   node_modules/.bin/tsx bench/qr-token.ts
 *
 * Per ticket (issue): sign + draw the QR as the service does —
 *   ticketgen  signToken + QRCode.toString(token, {type:'svg', errorCorrectionLevel:'H', margin:1})
 *   old        JSON payload + hex HMAC appended + QRCode.toDataURL(json, {errorCorrectionLevel:'H', width:200})
 * Per scan (verify):
 *   ticketgen  verifyToken (+ the event check)
 *   old        JSON.parse + recompute the hex HMAC over the payload + constant-time compare
 *
 * Every operation is timed on its own (process.hrtime.bigint) after a warm-up; the two sides run
 * in alternating blocks so that drift (GC, CPU frequency, neighbours) hits both alike. Prints a
 * Markdown table (median, p95 per operation, ratio ticketgen/old, QR version at level H).
 * Takes about 18 s.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { createKeyRing, generateTicketCode, signToken, tokenMatchesEvent, verifyToken } from "../packages/shared/src/index.ts";
import QRCode from "qrcode";
import { emit, type Figure } from "./support/report.ts";

const SECRET = Buffer.from("bench secret: 32 bytes or more, not a real one!!", "utf8");
const ring = createKeyRing([{ kid: "K1", secret: SECRET }]);
const EXPIRES = new Date(Date.now() + 30 * 86400_000);
const NOW = new Date();
/** A pool of distinct tickets, so that no cache (ours or V8's) sees the same input twice in a row. */
const POOL = 512;

interface Ticket {
  ticketId: string;
  eventId: string;
  guestId: string;
  ticketCode: string;
}

const tickets: Ticket[] = Array.from({ length: POOL }, () => ({
  ticketId: randomUUID(),
  eventId: randomUUID(),
  guestId: randomUUID(),
  ticketCode: generateTicketCode(),
}));

// --- the old design ---------------------------------------------------------------------

function oldSign(ticket: Ticket): string {
  const payload = { ...ticket, timestamp: Date.now() };
  const signature = createHmac("sha256", SECRET).update(JSON.stringify(payload)).digest("hex");
  return JSON.stringify({ ...payload, signature });
}

function oldVerify(text: string, eventId: string): boolean {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return false;
  }
  const { signature, ...payload } = parsed;
  if (typeof signature !== "string" || signature.length !== 64) return false;
  const expected = createHmac("sha256", SECRET).update(JSON.stringify(payload)).digest("hex");
  if (!timingSafeEqual(Buffer.from(expected, "latin1"), Buffer.from(signature, "latin1"))) return false;
  return payload.eventId === eventId;
}

// --- the new design ---------------------------------------------------------------------

function newSign(ticket: Ticket): string {
  return signToken(ring, { ticketId: ticket.ticketId, eventId: ticket.eventId, expiresAt: EXPIRES });
}

function newVerify(text: string, eventId: string): boolean {
  const result = verifyToken(ring, text, NOW);
  return result.ok && tokenMatchesEvent(result.token, eventId);
}

// --- harness ----------------------------------------------------------------------------

type Op = (i: number) => unknown;

interface Case {
  name: string;
  ticketgen: Op;
  old: Op;
  /** Milliseconds of measurement per side. */
  budgetMs: number;
}

function quantile(sorted: Float64Array, q: number): number {
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[at]!;
}

async function measure(kase: Case): Promise<{ ticketgen: Float64Array; old: Float64Array }> {
  const samples = { ticketgen: [] as number[], old: [] as number[] };
  const spent = { ticketgen: 0, old: 0 };
  // Warm-up: JIT, qrcode's lazily built tables, pngjs/zlib.
  const warmUntil = performance.now() + Math.min(700, kase.budgetMs / 3);
  for (let i = 0; performance.now() < warmUntil; i++) {
    await kase.ticketgen(i % POOL);
    await kase.old(i % POOL);
  }
  // Synchronous operations are not awaited inside the timed region (an await costs a microtask).
  let i = 0;
  while (spent.ticketgen < kase.budgetMs || spent.old < kase.budgetMs) {
    for (const side of ["ticketgen", "old"] as const) {
      const blockEnd = performance.now() + 50;
      do {
        const index = i++ % POOL;
        const start = process.hrtime.bigint();
        const result = kase[side](index);
        if (result instanceof Promise) await result;
        const ns = Number(process.hrtime.bigint() - start);
        samples[side].push(ns / 1000);
        spent[side] += ns / 1e6;
      } while (performance.now() < blockEnd);
    }
  }
  const sorted = (values: number[]) => Float64Array.from(values).sort();
  return { ticketgen: sorted(samples.ticketgen), old: sorted(samples.old) };
}

const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);

async function main() {
  const started = performance.now();
  const newTokens = tickets.map(newSign);
  const oldTokens = tickets.map(oldSign);
  const svgOptions = { type: "svg", errorCorrectionLevel: "H", margin: 1 } as const;
  const pngOptions = { errorCorrectionLevel: "H", width: 200 } as const;

  const cases: Case[] = [
    {
      name: "issue: sign + draw QR (ticketgen SVG / old PNG data URL)",
      ticketgen: (i) => QRCode.toString(newSign(tickets[i]!), svgOptions),
      old: (i) => QRCode.toDataURL(oldSign(tickets[i]!), pngOptions),
      budgetMs: 2500,
    },
    {
      name: "sign only (no QR)",
      ticketgen: (i) => newSign(tickets[i]!),
      old: (i) => oldSign(tickets[i]!),
      budgetMs: 1500,
    },
    {
      name: "verify one scan (signature, expiry, event)",
      ticketgen: (i) => newVerify(newTokens[i]!, tickets[i]!.eventId),
      old: (i) => oldVerify(oldTokens[i]!, tickets[i]!.eventId),
      budgetMs: 1500,
    },
    {
      name: "same renderer both sides: sign + PNG data URL",
      ticketgen: (i) => QRCode.toDataURL(newSign(tickets[i]!), pngOptions),
      old: (i) => QRCode.toDataURL(oldSign(tickets[i]!), pngOptions),
      budgetMs: 2000,
    },
  ];

  // Sanity: both verifiers accept their own tokens and refuse a tampered one.
  for (let i = 0; i < POOL; i++) {
    if (!newVerify(newTokens[i]!, tickets[i]!.eventId) || !oldVerify(oldTokens[i]!, tickets[i]!.eventId))
      throw new Error("verifier refused a good token");
  }
  if (
    newVerify(`${newTokens[0]!.slice(0, 10)}${newTokens[0]![10] === "A" ? "B" : "A"}${newTokens[0]!.slice(11)}`, tickets[0]!.eventId) ||
    oldVerify(oldTokens[0]!.replace('"timestamp":1', '"timestamp":2'), tickets[0]!.eventId)
  ) {
    throw new Error("verifier accepted a tampered token");
  }

  const versions = (tokens: string[]) => {
    const seen = tokens.map((t) => QRCode.create(t, { errorCorrectionLevel: "H" }).version);
    return { min: Math.min(...seen), max: Math.max(...seen) };
  };
  const range = (v: { min: number; max: number }) => (v.min === v.max ? `${v.max}` : `${v.min}–${v.max}`);
  const newVersion = versions(newTokens);
  const oldVersion = versions(oldTokens);
  const newLength = newTokens[0]!.length;
  const oldLength = Math.max(...oldTokens.map((t) => t.length));

  const rows: string[] = [];
  const figures: Figure[] = [];
  for (const kase of cases) {
    const { ticketgen, old } = await measure(kase);
    const ratio = quantile(ticketgen, 0.5) / quantile(old, 0.5);
    figures.push({
      scenario: "qr-token",
      name: kase.name,
      unit: "µs",
      median: quantile(ticketgen, 0.5),
      p95: quantile(ticketgen, 0.95),
      p99: quantile(ticketgen, 0.99),
      samples: ticketgen.length,
      baseline: { name: "old design", median: quantile(old, 0.5) },
      ratio,
    });
    rows.push(
      `| ${kase.name} | ${fmt(quantile(ticketgen, 0.5))} | ${fmt(quantile(ticketgen, 0.95))} | ${fmt(quantile(old, 0.5))} | ${fmt(quantile(old, 0.95))} | ${ratio.toFixed(3)}× (${ratio < 1 ? `${(1 / ratio).toFixed(1)}× faster` : `${ratio.toFixed(1)}× slower`}) | ${ticketgen.length.toLocaleString("en")} / ${old.length.toLocaleString("en")} |`,
    );
  }

  console.log(
    `QR token benchmark — node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${new Date().toISOString()}`,
  );
  console.log();
  console.log(
    "| per ticket | ticketgen median | ticketgen p95 | old median | old p95 | ratio (median, ticketgen/old) | samples (ticketgen / old) |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) console.log(row);
  console.log();
  console.log("| QR payload | characters | QR mode(s) | QR version at level H (over the pool) | modules |");
  console.log("|---|---:|---|---:|---:|");
  const modes = (t: string) => [...new Set(QRCode.create(t, { errorCorrectionLevel: "H" }).segments.map((s) => s.mode.id))].join(" + ");
  console.log(
    `| ticketgen TG1 token (kid K1) | ${newLength} | ${modes(newTokens[0]!)} | ${range(newVersion)} | ${17 + 4 * newVersion.max}×${17 + 4 * newVersion.max} |`,
  );
  console.log(
    `| old JSON + hex HMAC | ≤ ${oldLength} | ${modes(oldTokens[0]!)} | ${range(oldVersion)} | ${17 + 4 * oldVersion.max}×${17 + 4 * oldVersion.max} |`,
  );
  console.log();
  console.log(
    `pool of ${POOL} distinct tickets; per-operation timings after warm-up; total ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  figures.push({
    scenario: "qr-token",
    name: "QR version at level H",
    unit: "version",
    value: newVersion.max,
    baseline: { name: "old design", value: oldVersion.max },
  });
  emit(figures);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

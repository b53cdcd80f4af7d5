/**
 * The README's pictures, from real renders: starts the API and a render worker on local defaults
 * (scripts/local-stack.ts, as the demo does) with a scratch database, PDFs and Redis prefix,
 * stores the organiser's logo (scripts/demo-data/logo.svg) with PutAsset, issues tickets over gRPC, downloads their PDFs as a platform service would and rasterises
 * them with poppler's pdftoppm into docs/images/. Same guests and event every run; the ticket
 * codes, QR codes and "Generated" dates are new each time.
 */
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import sharp from "sharp";
import { connected, connectProducerRedis, loadWorkerConfig, mintAccessToken, redisAnswers, SCOPES } from "@ticketgen/shared";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import { TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { TicketService, TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { authorisedClient, downloaded, startLocalStack } from "./local-stack.ts";
import { freePort } from "./port-in-use.ts";

const run = promisify(execFile);
const outputDir = resolve("docs/images");
/** The organiser's mark, stored as the tenant's `logo` asset: tickets, the sheet and the badge show it. */
const LOGO = resolve("scripts/demo-data/logo.svg");
/** A PNG bigger than this makes the README slow to load on GitHub. */
const MAX_PNG_BYTES = 150 * 1024;

const event = {
  id: "readme-gala-2036",
  name: "ticketgen Launch Gala",
  startsAt: timestampFromDate(new Date("2036-06-12T17:00:00Z")),
  endsAt: timestampFromDate(new Date("2036-06-12T21:30:00Z")),
  location: "Salle Pleyel, Paris",
  timezone: "Europe/Paris",
};
const ticketType = { id: "vip", name: "VIP" };

/** One ticket each, in the guest's language (the Chinese, Japanese or Korean face follows it). */
const SINGLES = [
  {
    file: "ticket-arabic.png",
    alt: "Arabic",
    locale: "ar",
    guest: { id: "g-ar", firstName: "ليلى", lastName: "حداد", email: "layla@example.com" },
  },
  {
    file: "ticket-japanese.png",
    alt: "Japanese",
    locale: "ja",
    guest: { id: "g-ja", firstName: "山田", lastName: "花子", email: "hanako@example.com" },
  },
  {
    file: "ticket-hindi-emoji.png",
    alt: "Devanagari with an emoji",
    locale: "hi",
    guest: { id: "g-hi", firstName: "अनन्या", lastName: "शर्मा 🎉", email: "ananya@example.com" },
  },
];
const SHEET_GUESTS = [
  { id: "g-1", firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
  { id: "g-2", firstName: "Grace", lastName: "Hopper", email: "grace@example.com" },
  { id: "g-3", firstName: "Alan", lastName: "Turing", email: "alan@example.com" },
  { id: "g-4", firstName: "Katherine", lastName: "Johnson", email: "katherine@example.com" },
];
/** The badge is drawn by the API (pdf-lib), for the Japanese guest. */
const BADGE_GUEST = "g-ja";

/** Stops with one line saying what is missing, before anything is started. */
function requireTools(): void {
  if (spawnSync("pdftoppm", ["-v"]).error) fail("pdftoppm is not installed; install poppler-utils (sudo apt-get install poppler-utils)");
  if (spawnSync("zbarimg", ["--version"]).error) fail("zbarimg is not installed; install zbar-tools (sudo apt-get install zbar-tools)");
  const fontList = spawnSync("fc-list", [":", "family"], { encoding: "utf8" });
  if (fontList.error) fail("fc-list is not installed; install fontconfig (sudo apt-get install fontconfig)");
  const families = fontList.stdout;
  const missing = ["Noto Sans Arabic", "Noto Sans Devanagari", "Noto Sans CJK JP", "Noto Color Emoji"].filter((f) => !families.includes(f));
  if (missing.length > 0) {
    fail(
      `the fonts ${missing.join(", ")} are not installed (fonts-noto-core, fonts-noto-cjk, fonts-noto-color-emoji; ./scripts/demo.sh installs them)`,
    );
  }
}

function fail(message: string): never {
  console.error(`pictures: ${message}`);
  process.exit(1);
}

/** Page 1 of `pdf` in 8-bit grey as pdftoppm writes it (binary PGM, P5). */
async function greyPage(pdf: string, dpi: number): Promise<{ width: number; height: number; pixels: Buffer }> {
  const { stdout } = await run("pdftoppm", ["-gray", "-r", String(dpi), "-f", "1", "-l", "1", pdf], {
    encoding: "buffer",
    maxBuffer: 64 << 20,
  });
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(stdout.subarray(0, 40).toString("latin1"));
  if (!header) throw new Error(`pdftoppm -gray wrote no PGM image for ${pdf}`);
  const [, width, height] = header.map(Number) as [number, number, number];
  return { width, height, pixels: stdout.subarray(header[0].length) };
}

/**
 * The first block of ink on page 1, in pixels at `dpi`: where the built-in template's ticket
 * ends, a blank band of at least 5 mm separates it from the notes below. Measured on the page
 * itself so that the crop follows the template (no image library is needed for one scan of
 * pdftoppm's raw grey output).
 */
async function ticketBox(pdf: string, dpi: number): Promise<{ x: number; y: number; width: number; height: number }> {
  const { width, height, pixels } = await greyPage(pdf, dpi);
  const ink = (x: number, y: number) => pixels[y * width + x]! < 245;
  const rowHasInk = (y: number) => {
    for (let x = 0; x < width; x++) if (ink(x, y)) return true;
    return false;
  };
  const gap = Math.round((5 / 25.4) * dpi);
  let top = 0;
  while (top < height && !rowHasInk(top)) top++;
  let bottom = top;
  for (let blank = 0; bottom < height && blank < gap; bottom++) blank = rowHasInk(bottom) ? 0 : blank + 1;
  bottom -= gap;
  let left = width;
  let right = 0;
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < width; x++) {
      if (ink(x, y)) {
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (top >= height || right < left) throw new Error(`found no ticket on page 1 of ${pdf}`);
  const pad = Math.round((3 / 25.4) * dpi);
  const x = Math.max(0, left - pad);
  const y = Math.max(0, top - pad);
  return { x, y, width: Math.min(width, right + pad + 1) - x, height: Math.min(height, bottom + pad) - y };
}

/** A 2 px frame in GitHub's border grey: a white page (the badge) does not blend into the README's white. */
const FRAME = { width: 2, colour: "#d0d7de" };

/**
 * Page 1 of `pdf` as docs/images/`file`, at `dpi`, cropped to `box` when given, in a FRAME when
 * `framed`. A scanner must read exactly `qrPayloads` off the picture, and it must stay small
 * enough for the README.
 */
async function png(
  pdf: string,
  file: string,
  qrPayloads: readonly string[],
  dpi: number,
  { box, framed = false }: { box?: { x: number; y: number; width: number; height: number }; framed?: boolean } = {},
): Promise<void> {
  const target = join(outputDir, file);
  const crop = box ? ["-x", box.x, "-y", box.y, "-W", box.width, "-H", box.height].map(String) : [];
  await run("pdftoppm", ["-png", "-singlefile", "-r", String(dpi), "-f", "1", "-l", "1", ...crop, pdf, target.replace(/\.png$/, "")]);
  if (framed) {
    const { width, colour } = FRAME;
    const edges = { top: width, bottom: width, left: width, right: width, background: colour };
    writeFileSync(target, await sharp(readFileSync(target)).extend(edges).png({ compressionLevel: 9 }).toBuffer());
  }
  const size = statSync(target).size;
  if (size > MAX_PNG_BYTES)
    throw new Error(`${relative(".", target)} is ${(size / 1024).toFixed(0)} KB, over ${MAX_PNG_BYTES / 1024} KB: lower its dpi`);
  const scanned = await qrCodes(target);
  if (scanned.join("\n") !== [...qrPayloads].sort().join("\n")) {
    throw new Error(
      `${relative(".", target)} shows ${scanned.length} readable QR codes, not the ${qrPayloads.length} of its tickets: raise its dpi`,
    );
  }
  console.log(
    `  wrote ${relative(".", target)}  ${(size / 1024).toFixed(1)} KB (from a PDF of ${(statSync(pdf).size / 1024).toFixed(1)} KB)`,
  );
}

/** The QR codes a scanner reads in `image`, sorted. */
async function qrCodes(image: string): Promise<string[]> {
  const { stdout } = await run("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", image]).catch(() => ({ stdout: "" }));
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .sort();
}

requireTools();

const scratch = mkdtempSync(join(tmpdir(), "ticketgen-pictures-"));
const port = String(await freePort());
const queuePrefix = `{ticketgen-pictures-${process.pid}}`;
// Only this run's data: none of the caller's database, blob store, queue or secrets settings.
const inherited = Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|DB_|BLOB_|S3_|PGLITE_|QUEUE_|AUTH_|QR_)/.test(name));
const env = {
  ...Object.fromEntries(inherited),
  PORT: port,
  WEB_PORT: "0",
  METRICS_PORT: "0",
  QR_SIGNATURE_SECRET: randomBytes(32).toString("hex"),
  AUTH_JWT_SECRET: randomBytes(32).toString("hex"),
  PGLITE_DIR: join(scratch, "pglite"),
  BLOB_DIR: join(scratch, "blobs"),
  QUEUE_PREFIX: queuePrefix,
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
};

const redisTarget = loadWorkerConfig(env);
await redisAnswers(redisTarget, 3000, () => {}).catch((error: Error) => {
  rmSync(scratch, { recursive: true, force: true });
  fail(error.message);
});
console.log(
  `starting the ticketgen API on 127.0.0.1:${port} and a render worker (scratch data in ${scratch}, Redis prefix ${queuePrefix})`,
);
const stack = startLocalStack(env);

let cleaning: Promise<void> | undefined;
/** Stops the processes, then removes the scratch directory and this run's Redis keys (once). */
const cleanUp = () => (cleaning ??= removeAll());
async function removeAll(): Promise<void> {
  await stack.stop();
  rmSync(scratch, { recursive: true, force: true });
  const redis = connectProducerRedis(redisTarget);
  // A Redis gone meanwhile: reported below by its status, not as an unhandled error event.
  redis.on("error", () => {});
  try {
    await connected(redis, 2000);
    // A Redis that does not answer now held none of this run's keys: the services need it to start.
    if (redis.status !== "ready") return;
    const keys = await redis.keys(`${queuePrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

try {
  await stack.serving();
  const token = await mintAccessToken(Buffer.from(env.AUTH_JWT_SECRET), { tenantId: "readme", scopes: SCOPES, ttlSeconds: 600 });
  const tickets = authorisedClient(TicketService, stack.baseUrl, token);
  const batches = authorisedClient(BatchService, stack.baseUrl, token);
  const templates = authorisedClient(TemplateService, stack.baseUrl, token);
  mkdirSync(outputDir, { recursive: true });
  const pdf = (name: string, bytes: Buffer) => {
    const file = join(scratch, `${name}.pdf`);
    writeFileSync(file, bytes);
    return file;
  };

  await templates.putAsset({ id: "logo", data: readFileSync(LOGO) });
  console.log(`stored ${relative(".", LOGO)} as the asset "logo"`);
  console.log(`issuing ${SINGLES.length} tickets and a batch of ${SHEET_GUESTS.length} for "${event.name}" over gRPC; pictures:`);
  const issued = [];
  for (const single of SINGLES) {
    const { ticket } = await tickets.createTicket({
      event,
      guest: single.guest,
      ticketType,
      locale: single.locale,
      idempotencyKey: single.guest.id,
    });
    issued.push({ ...single, id: ticket!.id, qrPayload: ticket!.qrPayload });
  }
  const { batch } = await batches.createBatch({ event, ticketType, guests: SHEET_GUESTS, locale: "en", idempotencyKey: "sheet" });

  for (const single of issued) {
    const done = await stack.rendered(tickets, single.id);
    if (done.status !== TicketStatus.GENERATED) throw new Error(`the ${single.alt} ticket failed: ${done.failureReason}`);
    const file = pdf(single.guest.id, await downloaded(tickets.downloadTicketPdf({ id: single.id })));
    await png(file, single.file, [done.qrPayload], 110, { box: await ticketBox(file, 110) });
  }

  for await (const { batch: state } of batches.watchBatch({ id: batch!.id })) {
    if (state!.status === BatchStatus.PROCESSING) continue;
    if (state!.status !== BatchStatus.COMPLETED) throw new Error(`the batch ended ${BatchStatus[state!.status]}`);
  }
  const { tickets: listed } = await tickets.listTickets({ eventId: event.id });
  const onSheet = listed.filter((ticket) => ticket.batchId === batch!.id).map((ticket) => ticket.qrPayload);
  const sheet = pdf("sheet", await downloaded(batches.downloadBatchPdf({ id: batch!.id, layout: PrintLayout.A4_4UP })));
  await png(sheet, "sheet-a4-4up.png", onSheet, 100);

  const badgeTicket = issued.find((single) => single.guest.id === BADGE_GUEST)!;
  const badge = pdf("badge", await downloaded(tickets.downloadTicketPdf({ id: badgeTicket.id, layout: PrintLayout.BADGE_A6 })));
  await png(badge, "badge-a6.png", [badgeTicket.qrPayload], 110, { framed: true });
} catch (error) {
  await cleanUp();
  fail(error instanceof Error ? error.message : String(error));
}
await cleanUp();

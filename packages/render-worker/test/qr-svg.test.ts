import { randomUUID } from "node:crypto";
import QRCode from "qrcode";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyRing, signToken } from "@ticketgen/shared";
import { qrSvg } from "../src/qr/qr-svg.ts";

// Browser globals used inside page.evaluate(); the project's tsconfig has no DOM lib.
interface BrowserElement {
  querySelectorAll(selector: string): Iterable<BrowserElement>;
  getBoundingClientRect(): { width: number; height: number };
}
declare const document: { querySelector(selector: string): BrowserElement | null };
declare function getComputedStyle(element: BrowserElement): { getPropertyValue(name: string): string };

// CI installs Chromium: a missing one fails these tests rather than skipping them.
const CHROMIUM = process.env.CHROMIUM_EXECUTABLE_PATH ?? "/usr/bin/chromium";
// The longest kid makes the longest token: the worst case for the QR version.
const ring = createKeyRing([{ kid: "ROT2025Q", secret: Buffer.from("qr-svg unit-test secret, at least 32 bytes long", "utf8") }]);
const token = signToken(ring, { ticketId: randomUUID(), eventId: randomUUID(), expiresAt: new Date("2030-01-01T00:00:00Z") });

function paths(svg: string): string[] {
  return [...svg.matchAll(/<path [^>]*\bd="([^"]*)"/g)].map((match) => match[1] ?? "");
}

describe("qrSvg", () => {
  it("a TG1 token fits QR version 6 or lower at level H", () => {
    expect(token.startsWith("TG1.ROT2025Q.")).toBe(true);
    expect(QRCode.create(token, { errorCorrectionLevel: "H" }).version).toBeLessThanOrEqual(6);
  });

  it("draws a well-formed SVG with the viewBox, the size in px and crisp edges", async () => {
    const svg = await qrSvg(token, { size: 200, margin: 1 });
    const modules = QRCode.create(token, { errorCorrectionLevel: "H" }).modules.size;
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.endsWith("</svg>")).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain(`viewBox="0 0 ${modules + 2} ${modules + 2}"`);
    expect(svg).toMatch(/<svg [^>]*width="200" height="200"/);
    expect(svg).toContain("width:200px!important;height:200px!important");
    expect(svg).toContain('shape-rendering="crispEdges"');
    expect(svg).toContain('role="img"');
    expect(svg).toContain('aria-label="Ticket QR code"');
    expect(svg.match(/<svg/g)).toHaveLength(1);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/\/>/g)).toHaveLength(2);
  });

  it("pins dark-on-white with inline !important styles on the svg and both paths", async () => {
    const svg = await qrSvg(token, { size: 200, margin: 1 });
    const styles = [...svg.matchAll(/style="([^"]*)"/g)].map((match) => match[1] ?? "");
    expect(styles).toHaveLength(3);
    const [root = "", background = "", modules = ""] = styles;
    expect(root).toContain("background:#fff!important");
    expect(root).toContain("opacity:1!important");
    expect(root).toContain("filter:none!important");
    expect(background).toContain("fill:#fff!important");
    expect(background).toContain("stroke:none!important");
    expect(modules).toContain("stroke:#000!important");
    expect(modules).toContain("fill:none!important");
    expect(modules).toContain("stroke-width:1px!important");
    for (const style of styles) {
      for (const declaration of style.split(";")) expect(declaration).toMatch(/!important$/);
    }
  });

  it("keeps qrcode's module geometry unchanged", async () => {
    const svg = await qrSvg(token, { size: 240, margin: 2 });
    const reference = await QRCode.toString(token, { type: "svg", errorCorrectionLevel: "H", margin: 2, width: 240 });
    expect(paths(svg)).toEqual(paths(reference));
  });

  it("honours size and margin", async () => {
    const modules = QRCode.create(token, { errorCorrectionLevel: "H" }).modules.size;
    const big = await qrSvg(token, { size: 320, margin: 4 });
    expect(big).toMatch(/<svg [^>]*width="320" height="320"/);
    expect(big).toContain("width:320px!important;height:320px!important");
    expect(big).toContain(`viewBox="0 0 ${modules + 8} ${modules + 8}"`);
    const tight = await qrSvg(token, { size: 150, margin: 0 });
    expect(tight).toContain(`viewBox="0 0 ${modules} ${modules}"`);
    expect(tight).toContain("max-width:150px!important");
  });

  it("escapes the accessible label and rejects nonsense sizes", async () => {
    const svg = await qrSvg(token, { size: 200, margin: 1, label: `Code "QR" <b>&` });
    expect(svg).toContain('aria-label="Code &#34;QR&#34; &#60;b&#62;&#38;"');
    await expect(qrSvg(token, { size: 0, margin: 1 })).rejects.toThrow(/size/);
    await expect(qrSvg(token, { size: 200, margin: -1 })).rejects.toThrow(/margin/);
  });
});

describe("qrSvg in Chromium under a hostile stylesheet", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("stays black on white at its size whatever the template's CSS says", async () => {
    const svg = await qrSvg(token, { size: 200, margin: 1 });
    const hostile = `
      @layer evil { svg, svg path { fill: red !important; stroke: yellow !important; opacity: 0 !important; } }
      svg { width: 20px !important; height: 900px !important; background: black !important; filter: invert(1) !important;
            visibility: hidden !important; transform: scale(0.1) !important; border: 30px solid black !important; zoom: 0.2 !important; }
      svg path { fill: black !important; stroke: white !important; stroke-width: 5 !important; stroke-dasharray: 1 1 !important;
                 stroke-linecap: round !important; display: none !important; }
      path:first-child { fill: #000 !important; }
      path:last-child { stroke-opacity: 0.1 !important; }`;
    const page = await browser.newPage();
    try {
      await page.setContent(`<!DOCTYPE html><html><head><style>${hostile}</style></head><body><div id="qr">${svg}</div></body></html>`);
      const computed = await page.evaluate(() => {
        const root = document.querySelector("#qr svg")!;
        const [background, modules] = [...root.querySelectorAll("path")];
        const pick = (element: BrowserElement, names: string[]) => {
          const style = getComputedStyle(element);
          return Object.fromEntries(names.map((name) => [name, style.getPropertyValue(name)]));
        };
        const box = root.getBoundingClientRect();
        return {
          box: { width: box.width, height: box.height },
          root: pick(root, ["background-color", "opacity", "filter", "visibility", "transform", "border-top-width", "zoom"]),
          background: pick(background!, ["fill", "stroke", "opacity", "display"]),
          modules: pick(modules!, [
            "fill",
            "stroke",
            "stroke-width",
            "stroke-dasharray",
            "stroke-linecap",
            "stroke-opacity",
            "opacity",
            "display",
          ]),
        };
      });
      expect(computed.box).toEqual({ width: 200, height: 200 });
      expect(computed.root).toEqual({
        "background-color": "rgb(255, 255, 255)",
        opacity: "1",
        filter: "none",
        visibility: "visible",
        transform: "none",
        "border-top-width": "0px",
        zoom: "1",
      });
      expect(computed.background).toEqual({ fill: "rgb(255, 255, 255)", stroke: "none", opacity: "1", display: "inline" });
      expect(computed.modules).toEqual({
        fill: "none",
        stroke: "rgb(0, 0, 0)",
        "stroke-width": "1px",
        "stroke-dasharray": "none",
        "stroke-linecap": "butt",
        "stroke-opacity": "1",
        opacity: "1",
        display: "inline",
      });
    } finally {
      await page.close();
    }
  });
});

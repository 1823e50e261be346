// Draws the app's icons (public/icons): a rounded blue square with a white "C"
// ring, as PNGs of the sizes the manifest and iOS ask for, plus the same as SVG.
// No image library: pixels are computed (4×4 supersampled) and written as PNG with
// zlib. Run `node scripts/icons.mjs` after changing the design; the output is
// committed.
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';

const out = new URL('../public/icons/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const BLUE = [0x1f, 0x4f, 0xd6];

/** coverage of the mark at (x, y) in a unit square: 0 background, 1 tile, 2 ring. */
function shape(x, y, { maskable }) {
  // A maskable icon fills the square (the platform cuts it); its mark stays in the
  // inner 80% safe zone. A plain icon is a rounded tile with transparent corners.
  if (!maskable) {
    const r = 0.19;
    const dx = Math.max(r - x, 0, x - (1 - r));
    const dy = Math.max(r - y, 0, y - (1 - r));
    if (dx * dx + dy * dy > r * r) return 0;
  }
  const s = maskable ? 0.78 : 1;
  const cx = 0.5, cy = 0.5;
  const px = (x - cx) / s, py = (y - cy) / s;
  const d = Math.hypot(px, py);
  const angle = Math.atan2(py, px); // 0 points right
  const inRing = d >= 0.2 && d <= 0.32;
  const inGap = Math.abs(angle) < Math.PI / 4.2;
  // Round ends of the C.
  const endA = Math.PI / 4.2;
  const mid = 0.26, half = 0.06;
  const cap = [endA, -endA].some((a) => Math.hypot(px - mid * Math.cos(a), py - mid * Math.sin(a)) <= half);
  return (inRing && !inGap) || cap ? 2 : 1;
}

function png(size, opts) {
  const SS = 4;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) {
    raw[j * (size * 4 + 1)] = 0; // filter: none
    for (let i = 0; i < size; i++) {
      let tile = 0, ring = 0;
      for (let a = 0; a < SS; a++)
        for (let b = 0; b < SS; b++) {
          const v = shape((i + (a + 0.5) / SS) / size, (j + (b + 0.5) / SS) / size, opts);
          if (v >= 1) tile++;
          if (v === 2) ring++;
        }
      const n = SS * SS;
      const alpha = tile / n;
      const w = tile ? ring / tile : 0; // share of white within the covered part
      const o = j * (size * 4 + 1) + 1 + i * 4;
      for (let c = 0; c < 3; c++) raw[o + c] = Math.round(BLUE[c] * (1 - w) + 255 * w);
      raw[o + 3] = Math.round(alpha * 255);
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const table = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

for (const size of [32, 180, 192, 512]) writeFileSync(`${out}icon-${size}.png`, png(size, { maskable: false }));
writeFileSync(`${out}icon-maskable-512.png`, png(512, { maskable: true }));
writeFileSync(
  `${out}icon.svg`,
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="19" fill="#1f4fd6"/>` +
    `<path d="M${50 + 26 * Math.cos(Math.PI / 4.2)} ${50 - 26 * Math.sin(Math.PI / 4.2)} A26 26 0 1 0 ${50 + 26 * Math.cos(Math.PI / 4.2)} ${50 + 26 * Math.sin(Math.PI / 4.2)}" ` +
    `fill="none" stroke="#fff" stroke-width="12" stroke-linecap="round"/></svg>\n`,
);
console.log('icons: written to public/icons');

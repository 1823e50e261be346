// Writes a Brotli copy (<file>.br, quality 11) of each text file of the build
// that it makes smaller, once at build time, so the server (web/embed.go) can
// send it to browsers that accept br without compressing anything per request.
// Brotli at this level is about a sixth smaller than gzip -9 on the app's JS,
// which on a slow phone connection is time before the first screen.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, extname } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const TEXT = new Set(['.js', '.css', '.html', '.json', '.svg', '.webmanifest', '.txt']);
let raw = 0;
let br = 0;
let n = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const f = join(dir, name);
    if (statSync(f).isDirectory()) {
      walk(f);
      continue;
    }
    // index.html is sent per screen (with that screen's preloads), so it is not precompressed.
    if (!TEXT.has(extname(name)) || name === 'index.html' || name.startsWith('.')) continue;
    const b = readFileSync(f);
    if (b.length <= 512) continue;
    const z = brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } });
    if (z.length >= b.length) continue;
    writeFileSync(f + '.br', z);
    raw += b.length;
    br += z.length;
    n++;
  }
};
walk(dist);
console.log(`precompress: ${n} files, ${(raw / 1024).toFixed(0)} KB -> ${(br / 1024).toFixed(0)} KB brotli`);

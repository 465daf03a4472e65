// Builds src/main.ts into the one file the gateway serves (adapters/web/static/widget.js) and
// enforces the size budget: the build fails above 30 KB gzipped.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const OUT = "../adapters/web/static/widget.js";
const BUDGET_GZIP_BYTES = 30 * 1024;

await build({
  entryPoints: ["src/main.ts"],
  outfile: OUT,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  charset: "utf8",
  banner: { js: "/* Sangdam chat widget — Apache-2.0 — built from web_widget/ */" },
});

const bytes = readFileSync(OUT);
const gz = gzipSync(bytes, { level: 9 }).length;
console.log(`widget.js: ${bytes.length} bytes, ${gz} bytes gzipped (budget ${BUDGET_GZIP_BYTES})`);
if (gz > BUDGET_GZIP_BYTES) {
  console.error(`widget.js is over its size budget: ${gz} > ${BUDGET_GZIP_BYTES} bytes gzipped`);
  process.exit(1);
}

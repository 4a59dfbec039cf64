// Builds the web UI (and a standalone library bundle) with esbuild into the Python
// package's git-ignored folder src/glasskey/server/webui/, which `glasskey serve` answers at
// `/` and the wheel includes. The bundles contain third-party code (@noble, @bufbuild, idb):
// they are built here from the pinned package-lock.json and never committed.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(web, "..", "src", "glasskey", "server", "webui");
mkdirSync(out, { recursive: true });

const common = { bundle: true, format: "esm", target: ["es2022"], minify: true, legalComments: "external", logLevel: "warning" };
await build({ ...common, entryPoints: [join(web, "src", "ui", "app.ts")], outfile: join(out, "app.js"), platform: "browser" });
await build({ ...common, entryPoints: [join(web, "src", "index.ts")], outfile: join(out, "glasskey-web.js"), platform: "browser", external: ["node:fs/promises"] });
copyFileSync(join(web, "ui", "index.html"), join(out, "index.html"));
copyFileSync(join(web, "ui", "app.css"), join(out, "app.css"));

const sri = {};
for (const name of ["app.js", "glasskey-web.js", "app.css"]) {
  const data = readFileSync(join(out, name));
  sri[name] = { sri: "sha384-" + createHash("sha384").update(data).digest("base64"), bytes: data.length, gzip_bytes: gzipSync(data, { level: 9 }).length };
}
writeFileSync(join(out, "sri.json"), JSON.stringify(sri, null, 2) + "\n");
for (const [name, info] of Object.entries(sri)) console.log(`${name}: ${info.bytes} B, ${info.gzip_bytes} B gzipped, ${info.sri}`);

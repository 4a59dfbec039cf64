/**
 * Browser benchmark (bench/web.py drives it): loads the built glasskey-web.js bundle into
 * Debian's Chromium and times verifyBundle / verifyHistory on real answers of a glasskey
 * directory, cold (every cache cleared before each call) and repeated (memo warm).
 *
 * usage: node build/tools/bench.js <cases.json> <glasskey-web.js>
 */

import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [casesPath, bundlePath] = process.argv.slice(2) as [string, string];
const cases = readFileSync(casesPath, "utf8");
const source = readFileSync(bundlePath, "utf8");
const browser = await chromium.launch({ executablePath: process.env["CHROMIUM"] ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  await page.setContent("<!doctype html><title>bench</title>");
  const result = await page.evaluate(async ([src, json]) => {
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    const gk = await import(url);
    const input = JSON.parse(json);
    const t = input.trust;
    const trust = {
      origin: t.origin, logPublicKey: t.log_public_key, vrfPublicKey: gk.fromHex(t.vrf_public_key),
      configuration: t.configuration, domainLabel: null, maxPublicationDelay: null, checkpointRefresh: null,
    };
    const policy = { trust, maxAge: null, auditor: null };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const time = (fn: () => unknown, n: number, cold: boolean) => {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        if (cold) gk.clearVerifierCaches();
        const s = performance.now();
        fn();
        samples.push(performance.now() - s);
      }
      return { median_ms: median(samples), min_ms: Math.min(...samples), n };
    };
    const lookup = () => gk.verifyBundle(policy, input.user_id, input.bundle, null);
    const history = () => gk.verifyHistory(policy, input.user_id, input.history, null, { mostRecent: null });
    lookup();
    history();
    return {
      versions: history().versions.length,
      lookup_cold: time(lookup, 41, true),
      lookup_repeat: time(lookup, 41, false),
      history_cold: time(history, 11, true),
      user_agent: navigator.userAgent,
    };
  }, [source, cases] as const);
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}

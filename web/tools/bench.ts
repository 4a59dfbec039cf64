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
  // A secure context (as the UI on https or on 127.0.0.1), where WebCrypto Ed25519 exists.
  await page.route("https://bench.glasskey.test/", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>bench</title>" }));
  await page.goto("https://bench.glasskey.test/");
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
    const figure = (samples: number[]) => ({ median_ms: median(samples), min_ms: Math.min(...samples), n: samples.length });
    const once = async (fn: () => unknown, cold: boolean) => {
      if (cold) gk.clearVerifierCaches();
      const s = performance.now();
      await fn();
      return performance.now() - s;
    };
    const time = async (fn: () => unknown, n: number, cold: boolean) => {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) samples.push(await once(fn, cold));
      return figure(samples);
    };
    /** Two variants cold, call by call in turn, so that both see the same machine load. */
    const pair = async (a: () => unknown, b: () => unknown, n: number) => {
      const as: number[] = [];
      const bs: number[] = [];
      for (let i = 0; i < n; i++) {
        as.push(await once(a, true));
        bs.push(await once(b, true));
      }
      return [figure(as), figure(bs)] as const;
    };
    // As GlasskeyClient verifies: WebCrypto checks the Ed25519 signatures first (async),
    // then the synchronous verifier; and the synchronous verifier alone (noble Ed25519).
    const lookupSync = () => gk.verifyBundle(policy, input.user_id, input.bundle, null);
    const historySync = () => gk.verifyHistory(policy, input.user_id, input.history, null, { mostRecent: null });
    const lookup = async () => {
      await gk.preverifySignatures(policy, input.bundle);
      return lookupSync();
    };
    const history = async () => {
      await gk.preverifySignatures(policy, input.history);
      return historySync();
    };
    await lookup();
    await history();
    const [lookupCold, lookupNoble] = await pair(lookup, lookupSync, 101);
    const [historyCold, historyNoble] = await pair(history, historySync, 21);
    return {
      versions: historySync().versions.length,
      webcrypto_ed25519: await gk.webCryptoEd25519(),
      lookup_cold: lookupCold,
      lookup_cold_noble: lookupNoble,
      lookup_repeat: await time(lookup, 41, false),
      history_cold: historyCold,
      history_cold_noble: historyNoble,
      user_agent: navigator.userAgent,
    };
  }, [source, cases] as const);
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}

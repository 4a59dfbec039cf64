/**
 * The witness policy in a real browser (tests/web/test_browser.py): against a
 * `glasskey serve --witness` whose checkpoints a real `glasskey witness serve` cosigns, the
 * user pins that witness (1 of 1) in the UI's settings and a lookup verifies; then pins a
 * witness the log does not have and the banner shows `unwitnessed_head`, the key blocked.
 *
 * usage: node build/tools/browser-witness.js <server-url> <artefact-folder> <witness vkey> <other vkey>
 */

import { chromium, type Page } from "playwright-core";

const [base, artefacts, witness, other] = process.argv.slice(2) as [string, string, string, string];
const executablePath = process.env["CHROMIUM"] ?? "/usr/bin/chromium";
const results: Record<string, unknown> = {};

async function pin(page: Page, vkey: string, k: number): Promise<void> {
  await page.fill("#witness-keys", vkey);
  await page.fill("#witness-threshold", String(k));
  await Promise.all([page.waitForEvent("load"), page.click("#policy-save")]);
  await page.locator("[data-testid=log-status]").waitFor();
}

async function lookup(page: Page, user: string): Promise<{ verified: string | null; key: string | null; codes: string[] }> {
  await page.fill("#lookup-user", user);
  await page.click("#lookup-button");
  const result = page.locator("[data-testid=lookup-result]");
  await result.waitFor();
  const verified = await result.getAttribute("data-verified");
  if (verified === "true") await page.locator("[data-testid=history-row]").first().waitFor();
  else await page.locator("[role=alert]").first().waitFor();
  const codes = await page.locator("[role=alert]").evaluateAll((els) => els.map((e) => e.getAttribute("data-code") ?? ""));
  return { verified, key: await result.getAttribute("data-key"), codes };
}

const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(base + "/");
  await page.locator("[data-testid=log-status]").waitFor();
  await pin(page, witness, 1);
  results["witness_status"] = await page.locator("[data-testid=witness-status]").textContent();
  results["witnessed"] = await lookup(page, "alice");
  await page.screenshot({ path: `${artefacts}/5-witnessed.png`, fullPage: true });
  await pin(page, other, 1);
  results["other_status"] = await page.locator("[data-testid=witness-status]").textContent();
  results["unwitnessed"] = await lookup(page, "alice");
  await page.screenshot({ path: `${artefacts}/5-unwitnessed.png`, fullPage: true });
  await page.fill("#witness-keys", "not a key");
  await page.click("#policy-save");
  await page.locator("[role=alert]").first().waitFor();
  results["bad_key"] = await page.locator("[role=alert]").evaluateAll((els) => els.map((e) => e.getAttribute("data-code") ?? ""));
  results["console_errors"] = errors;
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results) + "\n");

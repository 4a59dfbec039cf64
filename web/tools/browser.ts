/**
 * Real-browser scenarios for tests/web/test_browser.py: drives Debian's Chromium through
 * playwright-core against a real `glasskey serve` behind a lying proxy (the Python test's
 * MaliciousTransport), and prints one JSON object with what each scenario observed.
 * Screenshots go to the folder given as the second argument.
 *
 * usage: node build/tools/browser.js <proxy-url> <artefact-folder>
 */

import { chromium, type Page } from "playwright-core";

const [base, artefacts] = process.argv.slice(2) as [string, string];
const executablePath = process.env["CHROMIUM"] ?? "/usr/bin/chromium";
const results: Record<string, unknown> = {};

async function control(what: string): Promise<void> {
  const r = await fetch(`${base}/__control/${what}`, { method: "POST" });
  if (!r.ok) throw new Error(`control ${what}: ${r.status} ${await r.text()}`);
}

async function lookup(page: Page, user: string): Promise<{ verified: string | null; key: string | null; codes: string[] }> {
  await page.fill("#lookup-user", user);
  await page.click("#lookup-button");
  const result = page.locator("[data-testid=lookup-result]");
  await result.waitFor();
  await page.waitForFunction(() => document.querySelector("[data-testid=lookup-result]")?.getAttribute("data-verified") !== null);
  const verified = await result.getAttribute("data-verified");
  if (verified === "true") await page.locator("[data-testid=history-row]").first().waitFor();
  else await page.locator("[role=alert]").first().waitFor();
  const codes = await page.locator("[role=alert]").evaluateAll((els) => els.map((e) => e.getAttribute("data-code") ?? ""));
  return { verified, key: await result.getAttribute("data-key"), codes };
}

async function rows(page: Page): Promise<{ version: string | null; label: string | null }[]> {
  return page.locator("[data-testid=history-row]").evaluateAll((els) =>
    els.map((e) => ({ version: e.getAttribute("data-version"), label: e.getAttribute("data-label") })));
}

/** Each history row's publication time: the attribute and the text shown. */
async function published(page: Page): Promise<{ version: string | null; at: string | null; shown: string | null }[]> {
  return page.locator("[data-testid=history-row]").evaluateAll((els) =>
    els.map((e) => ({
      version: e.getAttribute("data-version"), at: e.getAttribute("data-published"),
      shown: e.querySelector("[data-testid=history-published]")?.textContent ?? null,
    })));
}

const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1300 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(base + "/");
  await page.locator("[data-testid=log-status]").waitFor();

  // Alice's second version is published after the page (and its log panel) loaded: its row
  // must still show the publication time the verifier checked.
  await control("publish");
  results["honest"] = await lookup(page, "alice");
  results["published"] = await published(page);
  await page.screenshot({ path: `${artefacts}/1-lookup-verified.png`, fullPage: true });

  // The owner names version 1; version 2 stays unnamed and must show as Unknown.
  await page.locator("[data-testid=history-row][data-version='1'] [data-testid=label-input]").fill("laptop");
  await page.locator("[data-testid=history-row][data-version='1'] [data-testid=label-save]").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=history-row][data-version='1']")?.getAttribute("data-label") === "laptop");
  results["labels"] = await rows(page);
  results["unknown_is_red"] = await page.locator("[data-testid=history-row][data-version='2'] .unknown").evaluate((e) => getComputedStyle(e).color);
  await page.screenshot({ path: `${artefacts}/2-history-labels.png`, fullPage: true });

  // Reload: pinned keys, the verified head and the labels come back from IndexedDB.
  await control("advance");
  await page.reload();
  await page.locator("[data-testid=log-status]").waitFor();
  results["known_after_reload"] = await page.locator("[data-testid=known-size]").textContent();
  results["after_reload"] = await lookup(page, "alice");
  results["labels_after_reload"] = await rows(page);
  results["known_after_lookup"] = await page.locator("[data-testid=known-size]").textContent();
  await page.screenshot({ path: `${artefacts}/3-after-reload.png`, fullPage: true });

  for (const attack of ["forge_key", "rollback", "split_view"]) {
    await control(`attack/${attack}`);
    results[attack] = await lookup(page, "alice");
    await page.screenshot({ path: `${artefacts}/4-${attack}.png`, fullPage: true });
  }
  await control("attack/none");

  // An auditor pin: a malformed one is refused with an alert; a whole one survives a reload.
  await page.fill("#auditor-url", "http://127.0.0.1:9/");
  await page.fill("#auditor-key", "ab".repeat(31));
  await page.fill("#auditor-namespace", "glasskey.local/log");
  await page.click("#auditor-save");
  await page.locator("[role=alert]").first().waitFor();
  results["auditor_refused"] = await page.locator("[role=alert]").evaluateAll((els) => els.map((e) => e.getAttribute("data-code") ?? ""));
  await page.fill("#auditor-key", "AB".repeat(32));
  await Promise.all([page.waitForEvent("load"), page.click("#auditor-save")]);
  await page.locator("[data-testid=log-status]").waitFor();
  results["auditor_after_reload"] = {
    url: await page.inputValue("#auditor-url"), key: await page.inputValue("#auditor-key"),
    namespace: await page.inputValue("#auditor-namespace"),
    shown: await page.locator("[data-testid=auditor-pin]").textContent(),
  };
  await page.screenshot({ path: `${artefacts}/6-auditor-pinned.png`, fullPage: true });
  // The pin is in force: the client asks the pinned auditor, which is not there.
  results["auditor_unreachable"] = await lookup(page, "alice");
  results["console_errors"] = consoleErrors;
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results) + "\n");

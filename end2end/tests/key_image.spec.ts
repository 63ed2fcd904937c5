import { expect, test, type Page } from "@playwright/test";

import { logInAs, screenshot } from "./support";

// Errors the browser logs (a failed hydration among them) and failed requests, collected for
// the test's end. The site has no favicon; the browser's request for one is not the page's.
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`);
  });
  return errors;
}

test("from the key inventory to a key's usage and signed images, and on to an image", async ({ page }) => {
  const errors = consoleErrors(page);
  // A viewer: reading keys and images needs no more.
  await logInAs(page, "viewer");
  await page.goto("/keys");
  // The demo's release key has signed in the last days and is trusted by the demo's policies.
  const row = page.locator('tr[data-key="ci-release"]');
  await expect(row).toContainText("platform");
  await expect(row).toContainText(/(\d+ (min|h|days) ago|just now)/);
  await expect(row.locator("ul.trusted-by li").first()).toBeVisible();
  await screenshot(page, "keys");

  await row.getByRole("link", { name: "ci-release", exact: true }).click();
  await expect(page).toHaveURL(/\/keys\/sha256:[0-9a-f]{64}$/);
  await expect(page.getByRole("heading", { level: 1, name: "ci-release" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Signatures per day, last 30 days" })).toBeVisible();
  await expect(page.locator(".usage-chart svg rect").first()).toBeVisible();
  await expect(page.locator(".usage-chart figcaption")).toContainText(/\d+ signatures over 30 days/);
  await expect(page.locator("table.signers tbody tr").first()).toContainText("runner-");
  const signed = page.locator("table.signed-images tbody tr");
  await expect(signed.first()).toBeVisible();
  await screenshot(page, "key");
  await page.locator(".usage-chart").screenshot({ path: "test-results/screenshots/key-usage.png" });

  const digest = await signed.first().getAttribute("data-digest");
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  await signed.first().locator("a").click();
  await expect(page).toHaveURL(new RegExp(`/images/${digest}$`));
  await expect(page.locator(`[data-image="${digest}"]`)).toBeVisible();
  await expect(page.locator('table.signatures tr[data-key="ci-release"]')).toBeVisible();
  await expect(page.getByRole("heading", { name: "Where it runs or was refused" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Verification history" })).toBeVisible();
  await screenshot(page, "image");

  // Back to the key through the signature's link.
  await page.locator('table.signatures tr[data-key="ci-release"]').getByRole("link", { name: "ci-release" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "ci-release" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("an image is found by a part of its reference", async ({ page }) => {
  const errors = consoleErrors(page);
  await logInAs(page, "developer");
  await page.goto("/images");
  // Before any search: the most recently seen images.
  await expect(page.locator("[data-matches]")).toContainText("most recently seen digests");
  await page.getByLabel("Digest or reference").fill("registry.example.com/");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/images\?q=registry\.example\.com%2F$/);
  const matches = page.locator("table.image-matches tbody tr");
  await expect(matches.first()).toBeVisible();
  await screenshot(page, "images");
  await matches.first().locator("a").first().click();
  await expect(page).toHaveURL(/\/images\/sha256:[0-9a-f]{64}$/);
  await expect(page.getByRole("heading", { name: "Verification history" })).toBeVisible();

  await page.goto("/images?q=nothing-is-called-this");
  await expect(page.locator('[data-matches="0"]')).toContainText("No image matches");
  expect(errors).toEqual([]);
});

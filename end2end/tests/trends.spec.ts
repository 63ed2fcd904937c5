import { readFileSync } from "node:fs";
import { expect, test, type Browser, type Page } from "@playwright/test";

const adminEmail = process.env.E2E_ADMIN_EMAIL ?? "admin@example.org";
const adminPassword = process.env.E2E_ADMIN_PASSWORD ?? "";
const viewerPassword = "manager-password-e2e-2";

async function logIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** A manager with the viewer role: created by the admin, first password changed. */
async function viewer(browser: Browser, javaScriptEnabled = true): Promise<Page> {
  const email = `manager-${Date.now()}@example.org`;
  const oneTime = "one-time-password-e2e";
  const admin = await (await browser.newContext()).newPage();
  await logIn(admin, adminEmail, adminPassword);
  await expect(admin.getByRole("heading", { name: "Overview" })).toBeVisible();
  await admin.goto("/admin");
  await expect(admin.getByRole("heading", { name: "New account" })).toBeVisible();
  await admin.getByLabel("E-mail").fill(email);
  await admin.getByLabel("Role", { exact: true }).last().selectOption("viewer");
  await admin.getByLabel("One-time password").fill(oneTime);
  await admin.getByRole("button", { name: "Create account" }).click();
  await expect(admin.locator("body")).toContainText(email);
  await admin.context().close();

  const page = await (await browser.newContext({ javaScriptEnabled: true })).newPage();
  await logIn(page, email, oneTime);
  await expect(page).toHaveURL(/\/account$/);
  await page.getByLabel("Current password").fill(oneTime);
  await page.getByLabel("New password (at least 12 characters)").fill(viewerPassword);
  await page.getByLabel("New password again").fill(viewerPassword);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status")).toContainText("Your password has been changed.");
  if (javaScriptEnabled) return page;
  // The same session in a browser that runs no script.
  const cookies = await page.context().cookies();
  const noScript = await browser.newContext({ javaScriptEnabled: false });
  await noScript.addCookies(cookies);
  await page.context().close();
  return noScript.newPage();
}

test("a manager reads the trends, switches the range and downloads a chart's numbers", async ({ browser }) => {
  const page = await viewer(browser);
  await page.goto("/trends");
  await expect(page.getByRole("heading", { name: "Trends", exact: true })).toBeVisible();
  await expect(page.getByRole("link", { name: "7 d" })).toHaveAttribute("aria-current", "page");

  // Every chart is drawn on the server as an image with a title, or says why there is none.
  for (const title of [
    "Verification success rate by environment",
    "Rejections by reason",
    "Unsigned-image attempts",
    "Time to deploy a signed image",
    "Time to contain, propagate and recover",
    "Key hygiene",
    "Reporting coverage",
  ]) {
    await expect(page.getByRole("heading", { name: title })).toBeVisible();
  }
  const success = page.locator("figure#success-rate");
  // The chart is an image of its SVG, loaded with the session, described in words by its alt.
  const image = success.getByRole("img");
  await expect(image).toHaveAttribute("src", "/trends/success-rate.svg?range=7d");
  await expect(image).toHaveAttribute("alt", /^Share of admissions that were admitted.*Last 7 days, one point per hour\./);
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  const svg = await page.request.get("/trends/success-rate.svg?range=7d");
  expect(svg.headers()["content-type"]).toBe("image/svg+xml");
  expect(await svg.text()).toContain('<title id="success-rate-title">Verification success rate by environment</title>');
  await expect(success.locator("ul.legend li").first()).toBeVisible();
  await expect(success.locator("details tbody tr")).toHaveCount(7 * 24);
  // Response times come from incidents (incidents.spec.ts runs one first; alone, there are none).
  await expect(page.locator("figure#revocation")).toContainText(/no incidents in this range|mean time to contain/);
  await page.screenshot({ path: "test-results/screenshots/trends.png", fullPage: true });

  // The range is a plain link: the URL carries it and the charts are drawn again, per day.
  await page.getByRole("link", { name: "30 d" }).click();
  await expect(page).toHaveURL(/\/trends\?range=30d$/);
  await expect(page.getByRole("link", { name: "30 d" })).toHaveAttribute("aria-current", "page");
  await expect(success.locator("details tbody tr")).toHaveCount(30);
  await expect(image).toHaveAttribute("src", "/trends/success-rate.svg?range=30d");
  await expect(image).toHaveAttribute("alt", /Last 30 days, one point per day\./);
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(page.locator("figure#rejections a.csv")).toHaveAttribute("href", "/trends/rejections.csv?range=30d");
  await page.screenshot({ path: "test-results/screenshots/trends-30d.png", fullPage: true });

  // Each chart's numbers download as CSV, one row per day.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.locator("figure#success-rate a.csv").click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^trustwatch-success-rate-30d-\d{8}\.csv$/);
  const csv = readFileSync(await download.path(), "utf8").trim().split("\n");
  expect(csv[0]).toMatch(/^bucket_start(,[^,]+_percent)+$/);
  expect(csv).toHaveLength(31);
});

test("the trends work without JavaScript", async ({ browser }) => {
  const page = await viewer(browser, false);
  await page.goto("/trends?range=24h");
  const coverage = page.locator("figure#coverage");
  const image = coverage.getByRole("img");
  await expect(image).toBeVisible();
  await expect(image).toHaveAttribute("src", "/trends/coverage.svg?range=24h");
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(coverage.locator("details tbody tr")).toHaveCount(24);
  await page.getByRole("link", { name: "90 d" }).click();
  await expect(page).toHaveURL(/\/trends\?range=90d$/);
  await expect(coverage.locator("details tbody tr")).toHaveCount(90);
});

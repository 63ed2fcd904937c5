import { expect, test, type Page } from "@playwright/test";

const email = process.env.E2E_ADMIN_EMAIL ?? "admin@example.org";
const password = process.env.E2E_ADMIN_PASSWORD ?? "";

async function logIn(page: Page) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

test("a wrong password shows a clear message and no session", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong e-mail or password.");
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test("log in, see the overview with demo numbers, open the audit log, log out", async ({ page }) => {
  await logIn(page);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  // Demo numbers from the database: every demo cluster is listed, and admissions were counted.
  const clusters = page.locator("table.clusters tbody tr");
  await expect(clusters).toHaveCount(5);
  await expect(page.locator("tr[data-cluster=prod-eu-1]")).toBeVisible();
  const admitted = Number(await page.locator(".stat.ok .value").first().innerText());
  expect(admitted).toBeGreaterThan(0);
  // The demo's silent edge cluster is shown as stale.
  await expect(page.locator("tr[data-cluster=edge-ap-1] td.stale")).toContainText("stale");
  // …and, having stopped reporting before the last bundle, as behind on its trust bundle.
  await expect(page.locator("tr[data-cluster=edge-ap-1] td.behind")).toContainText("behind");
  // Every cluster is flagged behind exactly when it runs an older bundle than the newest (other
  // specs publish bundles before this one runs, so the rule is checked rather than a count).
  const newest = Number(await page.locator("[data-newest-bundle]").getAttribute("data-newest-bundle"));
  expect(newest).toBeGreaterThan(0);
  for (const cell of await page.locator("table.clusters td[data-bundle-version]").all()) {
    const version = Number((await cell.getAttribute("data-bundle-version")) || "0");
    if (version < newest) {
      await expect(cell).toHaveClass(/behind/);
    } else {
      await expect(cell).not.toHaveClass(/behind/);
    }
  }
  await page.screenshot({ path: "test-results/screenshots/overview.png", fullPage: true });

  // Client-side navigation after hydration.
  await page.getByRole("link", { name: "Audit" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await expect(page.locator("[data-chain=verified]")).toBeVisible();
  await expect(page.locator("table.audit tbody tr").first()).toBeVisible();
  await expect(page.locator("table.audit")).toContainText("auth.login_succeeded");

  // Filters live in the URL.
  await page.getByLabel("Action").fill("login_failed");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=login_failed/);
  await expect(page.locator("table.audit tbody tr").first()).toContainText("auth.login_failed");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?loggedout=1$/);
  await expect(page.getByRole("status")).toHaveText("You have logged out.");
  await page.goto("/audit");
  await expect(page).toHaveURL(/\/login\?next=\/audit$/);
});

test("the layout holds on a phone", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await logIn(page);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: "test-results/screenshots/overview-phone.png", fullPage: true });
});

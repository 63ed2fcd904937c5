import { expect, test, type Page } from "@playwright/test";

const adminEmail = process.env.E2E_ADMIN_EMAIL ?? "admin@example.org";
const adminPassword = process.env.E2E_ADMIN_PASSWORD ?? "";

async function logIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/// The admin creates a security engineer, who logs in and chooses a password.
async function securityUser(page: Page): Promise<string> {
  await logIn(page, adminEmail, adminPassword);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto("/admin");
  const email = `sec-${Date.now()}@example.org`;
  const oneTime = "one-time-password-e2e";
  const form = page.locator("form", { has: page.getByRole("heading", { name: "New account" }) });
  await form.getByLabel("E-mail").fill(email);
  await form.getByLabel("Role").selectOption("security");
  await form.getByLabel("One-time password").fill(oneTime);
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Account created" })).toBeVisible();

  await page.context().clearCookies();
  await logIn(page, email, oneTime);
  await expect(page).toHaveURL(/\/account$/);
  const own = "security-engineer-own-password";
  await page.getByLabel("Current password").fill(oneTime);
  await page.getByLabel("New password (at least 12 characters)").fill(own);
  await page.getByLabel("New password again").fill(own);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Your password has been changed." })).toBeVisible();
  return email;
}

test("a security engineer acknowledges an alert and it moves to acknowledged", async ({ page }) => {
  const email = await securityUser(page);
  await page.goto("/alerts");
  await expect(page.getByRole("heading", { name: "Alerts", exact: true })).toBeVisible();

  // The demo's silent edge cluster is an open alert, with why and the numbers.
  const open = page.locator("[data-section=open]");
  const silent = open.locator("li.alert[data-rule=cluster_silent]").first();
  await expect(silent).toContainText("Cluster edge-ap-1 has not reported for");
  await expect(silent).toContainText("staleness limit is 15 min");
  await expect(open.locator("li.alert[data-rule=revoked_key_use]").first()).toContainText("payments-legacy is compromised since");
  const id = await silent.getAttribute("data-alert");
  expect(id).toBeTruthy();

  await silent.getByLabel("Note").fill("edge-ap-1 is being rebuilt by the platform team");
  await silent.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Alert acknowledged." })).toBeVisible();

  await expect(open.locator(`li.alert[data-alert="${id}"]`)).toHaveCount(0);
  // The note typed for it did not stay behind under another alert.
  await expect(open.locator("li.alert").first().getByLabel("Note")).toHaveValue("");
  const done = page.locator(`[data-section=acknowledged] li.alert[data-alert="${id}"]`);
  await expect(done).toContainText(`Acknowledged by ${email}`);
  await expect(done).toContainText("edge-ap-1 is being rebuilt by the platform team");
  await expect(done.getByRole("button", { name: "Acknowledge" })).toHaveCount(0);
  await page.screenshot({ path: "test-results/screenshots/alerts.png", fullPage: true });

  // Filters live in the URL.
  await page.goto("/alerts?state=acknowledged&rule=cluster_silent");
  await expect(page.locator("[data-section=open]")).toHaveCount(0);
  await expect(page.locator(`[data-section=acknowledged] li.alert[data-alert="${id}"]`)).toBeVisible();

  // The subject's link lists everything that cluster raised.
  await page.locator(`li.alert[data-alert="${id}"]`).getByRole("link", { name: "edge-ap-1" }).click();
  await expect(page).toHaveURL(/cluster=edge-ap-1/);
  await expect(page.locator("[data-subject=edge-ap-1]")).toContainText("Only the alerts of cluster edge-ap-1");
  await expect(page.locator("li.alert[data-rule=revoked_key_use]")).toHaveCount(0);
});

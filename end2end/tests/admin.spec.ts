import { expect, test } from "@playwright/test";

const email = process.env.E2E_ADMIN_EMAIL ?? "admin@example.org";
const password = process.env.E2E_ADMIN_PASSWORD ?? "";

test("an admin creates a machine token through the form and sees it once", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  await page.goto("/admin");
  await expect(page.getByRole("heading", { name: "Machine tokens" })).toBeVisible();
  const name = `e2e-reader-${Date.now()}`;
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("read", { exact: true }).check();
  await page.getByLabel("Bound to cluster (optional)").fill("prod-eu-1");
  await page.getByRole("button", { name: "Create token" }).click();

  const secret = page.locator("pre[data-token]");
  await expect(secret).toHaveText(/^tw_[A-Za-z0-9_-]{43}$/);
  const value = await secret.innerText();
  // The new token is listed by name and prefix only.
  const row = page.locator("table.tokens tr", { hasText: name });
  await expect(row).toContainText("read");
  await expect(row).toContainText("prod-eu-1");
  await expect(page.locator("table.tokens")).not.toContainText(value);

  // It works against the machine API, once, with its scope.
  const res = await page.request.get("/api/v1/clusters", { headers: { Authorization: `Bearer ${value}` } });
  expect(res.status()).toBe(200);
  const clusters = await res.json();
  expect(clusters.map((c: { name: string }) => c.name)).toContain("prod-eu-1");

  // After a reload the value is gone for good.
  await page.reload();
  await expect(page.locator("pre[data-token]")).toHaveCount(0);
  await expect(page.locator("body")).not.toContainText(value);
});

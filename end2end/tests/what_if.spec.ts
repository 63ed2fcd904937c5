import { expect, test } from "@playwright/test";

import { logInAs, screenshot } from "./support";

test("from a key page, what would break if the key were revoked", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Security engineers ask this before revoking; the demo's release key signs the platform
  // team's images, which production clusters admitted over the last days.
  await logInAs(page, "security");
  await page.goto("/keys");
  await page.locator('tr[data-key="ci-release"]').getByRole("link", { name: "ci-release", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "ci-release" })).toBeVisible();

  await page.locator("a[data-what-if-link]").click();
  await expect(page).toHaveURL(/\/what-if\?change=revoke&key=ci-release$/);
  await expect(page.getByRole("heading", { level: 1, name: "What if" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Revoking key ci-release" })).toBeVisible();
  const refused = page.locator("table#would-be-refused tbody tr");
  await expect(refused.first()).toBeVisible();
  await expect(refused.first()).toContainText("registry.example.com/platform/");
  await expect(refused.first().locator("td.num")).toHaveText(/^\d+$/);
  // The form says what was asked, so the URL can be shared and the question changed.
  await expect(page.locator('select[name="key"]')).toHaveValue("ci-release");
  await expect(page.locator('select[name="change"]')).toHaveValue("revoke");
  await screenshot(page, "what-if");

  // A key nobody's policy needs any more breaks nothing.
  await page.goto("/what-if?change=revoke&key=web-2024");
  await expect(page.locator("[data-nothing-refused]")).toHaveText(
    "Nothing recorded in the last 7 days would be refused.",
  );
  expect(errors).toEqual([]);
});

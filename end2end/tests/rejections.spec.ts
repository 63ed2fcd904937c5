import { expect, test } from "@playwright/test";
import { logInAs, screenshot } from "./support";

test("a developer finds a rejection by image name, opens it, sees the reason and the fix", async ({ page }) => {
  await logInAs(page, "developer");
  await page.getByRole("link", { name: "Rejections" }).first().click();
  await expect(page.getByRole("heading", { name: "Rejections" })).toBeVisible();

  // The filters are a plain form: submitting puts them in the URL, so the view can be shared.
  await page.getByLabel("Image").fill("payments/worker");
  await page.getByLabel("Time").selectOption("30d");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/image=payments%2Fworker/);
  await expect(page).toHaveURL(/range=30d/);
  const rows = page.locator("table.rejections tbody tr");
  await expect(rows.first()).toBeVisible();
  const count = await rows.count();
  expect(count).toBeGreaterThan(0);
  for (const image of await rows.locator("td:nth-child(2)").allInnerTexts()) {
    expect(image).toContain("payments/worker");
  }
  await screenshot(page, "rejections");

  // Older pages follow the keyset link and keep the filter.
  const older = page.getByRole("link", { name: "Older →" });
  if (await older.count()) {
    await older.click();
    await expect(page).toHaveURL(/after=/);
    await expect(page).toHaveURL(/image=payments%2Fworker/);
    await page.getByRole("link", { name: "← Newest" }).click();
  }

  // A Trustwatch refusal, opened: the reason in words, the checks, and the fix.
  await page.getByLabel("Engine").selectOption("trustwatch");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/engine=trustwatch/);
  await rows.first().getByRole("link").click();
  await expect(page).toHaveURL(/\/rejections\/[0-9a-f-]{36}$/);
  await expect(page.locator("[data-rejection]")).toContainText("payments/worker");
  await expect(page.getByRole("heading", { name: "How to fix it" })).toBeVisible();
  await expect(page.locator("[data-remediation='recorded']")).toContainText("trustwatch sign --key");
  await expect(page.locator("[data-now]")).toContainText(/Judged again now \(trust bundle v\d+/);
  await expect(page.getByRole("heading", { name: "Checks" })).toBeVisible();
  await screenshot(page, "rejection-detail");
});

import { expect, test } from "@playwright/test";
import { credentials, logInAs, screenshot } from "./support";

test("a security engineer acknowledges an alert and it moves to acknowledged", async ({ page }) => {
  await logInAs(page, "security");
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
  await expect(done).toContainText(`Acknowledged by ${credentials("security").email}`);
  await expect(done).toContainText("edge-ap-1 is being rebuilt by the platform team");
  await expect(done.getByRole("button", { name: "Acknowledge" })).toHaveCount(0);
  await screenshot(page, "alerts");

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

test("a viewer reads the alerts but has nothing to acknowledge them with", async ({ page }) => {
  await logInAs(page, "viewer");
  await page.goto("/alerts?state=open");
  await expect(page.locator("[data-section=open] li.alert").first()).toBeVisible();
  await expect(page.getByRole("button", { name: "Acknowledge" })).toHaveCount(0);
});

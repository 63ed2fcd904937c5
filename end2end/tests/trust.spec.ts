import { generateKeyPairSync } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";

const email = process.env.E2E_ADMIN_EMAIL ?? "admin@example.org";
const password = process.env.E2E_ADMIN_PASSWORD ?? "";

async function logIn(page: Page) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
}

test("an admin imports a key, revokes it, and each change publishes a bundle", async ({ page }) => {
  await logIn(page);
  await page.goto("/keys");
  await expect(page.getByRole("heading", { name: "Import a public key" })).toBeVisible();

  const name = `e2e-key-${Date.now()}`;
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Owning team").fill("platform");
  await page.getByLabel("Public key (PEM)").fill(pem);
  await page.getByRole("button", { name: "Import key" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Key imported" })).toContainText(/Key imported\. Trust bundle version \d+ published\./);

  const row = page.locator(`tr[data-key="${name}"]`);
  await expect(row).toContainText("active");
  await row.getByLabel("New status").selectOption("revoked");
  await row.getByRole("button", { name: "Set" }).click();
  // Both notices stay on the page: each action keeps its last result.
  await expect(page.getByRole("status").filter({ hasText: "Status changed" })).toContainText(/Status changed\. Trust bundle version \d+ published\./);
  await expect(page.locator(`tr[data-key="${name}"]`)).toContainText("revoked");
});

test("an admin dry-runs a policy, sees the diff, then applies it", async ({ page }) => {
  await logIn(page);
  await page.goto("/policies");
  await expect(page.getByRole("heading", { name: "Create or change" })).toBeVisible();

  const policy = `e2e-policy-${Date.now()}`;
  const documents = [
    "apiVersion: trustwatch.dev/v1",
    "kind: Policy",
    `metadata: {name: ${policy}}`,
    "spec:",
    '  images: ["registry.example.com/e2e/**"]',
    "  mode: audit",
    "  authorities: {threshold: 1, keys: [ci-release]}",
  ].join("\n");
  await page.getByLabel("Documents (YAML or JSON)").fill(documents);
  await page.getByRole("button", { name: "Check or apply" }).click();
  const outcome = page.locator("[data-outcome]");
  await expect(outcome).toContainText("Dry run: nothing was stored.");
  await expect(page.getByRole("heading", { name: `Policy ${policy}: created` })).toBeVisible();
  await expect(page.locator("[data-impact]")).toContainText(/Judged \d+ distinct image placements/);
  await expect(page.locator(`li[data-policy="${policy}"]`)).toHaveCount(0);

  await page.getByLabel(/^Dry run/).uncheck();
  await page.getByRole("button", { name: "Check or apply" }).click();
  await expect(outcome).toContainText(/Applied\. Trust bundle version \d+ published\./);
  await expect(page.locator(`li[data-policy="${policy}"]`)).toBeVisible();
});

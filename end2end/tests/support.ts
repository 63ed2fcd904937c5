import { expect, type Page } from "@playwright/test";

// The people scripts/lib/e2e.sh creates: the first admin, and one account per role
// (<role>@example.org; "security2" is a second security engineer for two-person approvals).
export type Person = "admin" | "developer" | "security" | "security2" | "viewer" | "auditor";

export function credentials(who: Person): { email: string; password: string } {
  if (who === "admin") {
    return { email: process.env.E2E_ADMIN_EMAIL ?? "admin@example.org", password: process.env.E2E_ADMIN_PASSWORD ?? "" };
  }
  return { email: `${who}@example.org`, password: process.env.E2E_USER_PASSWORD ?? "" };
}

export async function logInAs(page: Page, who: Person) {
  const { email, password } = credentials(who);
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
}

// Screenshots are kept with the test output (end2end/test-results/screenshots/).
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

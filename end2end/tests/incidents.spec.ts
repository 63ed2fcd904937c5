import { generateKeyPairSync } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { credentials, logInAs, screenshot } from "./support";

function pem(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
}

function step(page: Page, id: string) {
  return page.locator(`li.incident-step[data-step="${id}"]`);
}

async function expectOutcome(page: Page, text: string | RegExp) {
  await expect(page.getByRole("status").filter({ hasText: text })).toBeVisible();
}

// Two security engineers, each in their own browser, run the key-compromise playbook from the
// declaration to the closed review. The key is imported by the test, so no other test's key or
// the demo's is touched.
test("two security engineers run the key-compromise playbook from declaration to review", async ({ browser }) => {
  test.setTimeout(180_000);
  const ada = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  await logInAs(ada, "security");
  await logInAs(bob, "security2");

  const key = `incident-e2e-${Date.now()}`;
  await ada.goto("/keys");
  await ada.getByLabel("Name", { exact: true }).fill(key);
  await ada.getByLabel("Owning team").fill("payments");
  await ada.getByLabel("Public key (PEM)").fill(pem());
  await ada.getByRole("button", { name: "Import key" }).click();
  await expect(ada.getByRole("status").filter({ hasText: "Key imported" })).toBeVisible();

  // Declare: the incident opens and its clock runs.
  await ada.goto("/incidents");
  await expect(ada.getByRole("heading", { name: "Incidents", exact: true })).toBeVisible();
  await ada.locator("select[name=playbook]").selectOption("key-compromise");
  await ada.getByLabel("What happened").fill(`${key} found in a public gist`);
  await ada.locator("select[name=key]").selectOption(key);
  await ada.locator("select[name=severity]").selectOption("critical");
  await ada.locator("select[name=commander]").selectOption(credentials("security").email);
  await ada.getByRole("button", { name: "Declare" }).click();
  await expect(ada).toHaveURL(/\/incidents\/[0-9a-f-]{36}$/);
  const url = ada.url();
  await expect(ada.getByRole("heading", { level: 1 })).toContainText(`${key} found in a public gist`);
  await expect(step(ada, "declare")).toHaveAttribute("data-status", "pending");
  await screenshot(ada, "incident-1-declared");

  await step(ada, "declare").getByRole("button", { name: "tick" }).first().click();
  await expect(step(ada, "declare").locator("li[data-ticked=true]")).toHaveCount(1);
  await step(ada, "declare").getByRole("button", { name: "Mark done" }).click();
  await expect(step(ada, "declare")).toHaveAttribute("data-status", "done");
  await expect(step(ada, "declare")).toContainText(`done by ${credentials("security").email}`);
  // The blast radius of a key that signed nothing since T: nothing to chase, and it says so.
  await expect(step(ada, "blast-radius").locator("[data-live=blast-radius]")).toHaveAttribute("data-signatures", "0");
  await screenshot(ada, "incident-2-blast-radius");
  await step(ada, "blast-radius").getByRole("button", { name: "Mark done" }).click();
  await expect(step(ada, "blast-radius")).toHaveAttribute("data-status", "done");

  // Ada asks for approval; she cannot give it herself.
  await step(ada, "approve-containment").getByRole("button", { name: "Request approval" }).click();
  await expect(step(ada, "approve-containment")).toHaveAttribute("data-status", "requested");
  await expect(step(ada, "approve-containment")).toContainText("Another security user must approve your request.");
  await expect(step(ada, "approve-containment").getByRole("button", { name: "Approve" })).toHaveCount(0);

  // While Bob approves, Ada is typing a comment: the refresh that shows his approval keeps it.
  await ada.getByLabel("Comment").fill("Gist reported by a researcher at 09:12; key file was in CI cache");
  await bob.goto(url);
  await expect(step(bob, "approve-containment")).toHaveAttribute("data-status", "requested");
  await step(bob, "approve-containment").getByRole("button", { name: "Approve" }).click();
  await expect(step(bob, "approve-containment")).toHaveAttribute("data-status", "approved");
  await screenshot(bob, "incident-3-approved-by-second-engineer");
  await expect(step(ada, "approve-containment")).toHaveAttribute("data-status", "approved", { timeout: 20_000 });
  await expect(ada.getByLabel("Comment")).toHaveValue("Gist reported by a researcher at 09:12; key file was in CI cache");
  await ada.getByRole("button", { name: "Add comment" }).click();
  await expect(ada.locator(".comment-list")).toContainText("Gist reported by a researcher");

  // Contain: the key is marked compromised since T and a bundle is published at once.
  await step(ada, "contain").getByRole("button", { name: "Contain the key now" }).click();
  await expectOutcome(ada, /marked compromised since .*trust bundle version \d+ published/);
  await expect(step(ada, "contain")).toHaveAttribute("data-status", "done");
  await expect(ada.locator(".incident-head")).toHaveAttribute("data-status", "contained");
  await expect(ada.locator(".key-status")).toHaveText("compromised");
  await expect(step(ada, "propagation").locator("[data-live=propagation]")).toBeVisible();
  await screenshot(ada, "incident-4-contained-propagation");

  // Bob sees Ada's comment and containment on his next refresh.
  await expect(bob.locator(".comment-list")).toContainText("Gist reported by a researcher", { timeout: 20_000 });
  await expect(step(bob, "contain")).toHaveAttribute("data-status", "done");

  // A viewer follows along but has nothing to act with.
  const vic = await (await browser.newContext()).newPage();
  await logInAs(vic, "viewer");
  await vic.goto("/incidents");
  await expect(vic.getByRole("button", { name: "Declare" })).toHaveCount(0);
  await vic.goto(url);
  await expect(step(vic, "contain")).toHaveAttribute("data-status", "done");
  await expect(step(vic, "propagation").locator("[data-live=propagation]")).toBeVisible();
  await expect(vic.getByRole("button", { name: "Mark done" })).toHaveCount(0);
  await expect(vic.getByRole("button", { name: "Add comment" })).toHaveCount(0);
  await vic.context().close();

  // The demo's clusters are silent or behind: propagation is confirmed by hand here.
  await step(ada, "propagation").getByRole("button", { name: "Mark done" }).click();
  await expect(step(ada, "propagation")).toHaveAttribute("data-status", "done");
  await step(ada, "notify").getByRole("button", { name: "Skip (optional step)" }).click();
  await expect(step(ada, "notify")).toHaveAttribute("data-status", "skipped");
  await step(bob, "cut-off-key").getByRole("button", { name: "Mark done" }).click();
  await expect(step(bob, "cut-off-key")).toHaveAttribute("data-status", "done");

  // Rotate: register the replacement, read the diff, apply it.
  const replacement = `${key}-2`;
  const form = step(ada, "register-replacement");
  await form.getByLabel("New key name").fill(replacement);
  await form.getByLabel("Public key (PEM)").fill(pem());
  await form.getByRole("button", { name: "Register the replacement key" }).click();
  await expectOutcome(ada, `Key ${replacement} registered`);
  await expect(step(ada, "update-policies").locator("[data-live=policy-diff]")).toBeVisible();
  await step(ada, "update-policies").getByRole("button", { name: "Apply the policy change" }).click();
  await expect(step(ada, "update-policies")).toHaveAttribute("data-status", "done");
  await expect(step(ada, "re-sign").locator("[data-live=resign]")).toBeVisible();
  await step(ada, "re-sign").getByRole("button", { name: "Mark done" }).click();
  await expect(step(ada, "recovery").locator("[data-live=recovery]")).toHaveAttribute("data-relying", "0");
  await screenshot(ada, "incident-5-rotated-recovery");
  await step(ada, "recovery").getByRole("button", { name: "Mark done" }).click();
  await expect(step(ada, "recovery")).toHaveAttribute("data-status", "done");

  // Review: the timeline from the audit log, the figures, the write-up, then close.
  const review = step(ada, "review");
  await expect(review.locator("table.timeline")).toContainText(`Approved: Approve containment`);
  await expect(review.locator("table.timeline")).toContainText(credentials("security2").email);
  await review.getByLabel("Root cause: how it happened, how it was detected, why T").fill("The key file was cached by CI and published in a gist.");
  await review.getByLabel("Follow-ups, with owners and dates").fill("Move signing to KMS — platform, 2026-12-15");
  await review.getByRole("button", { name: "Save the review" }).click();
  await expect(step(ada, "review")).toHaveAttribute("data-status", "done");
  await expect(step(ada, "review").locator("[data-figure='Time to contain']")).not.toHaveText("not reached");
  const markdown = await ada.request.get(`${url}/review.md`);
  expect(markdown.status()).toBe(200);
  const md = await markdown.text();
  expect(md).toContain("# Post-incident review");
  expect(md).toContain("The key file was cached by CI");
  await screenshot(ada, "incident-6-review");

  await ada.getByRole("button", { name: "Close incident" }).click();
  await expect(ada.locator(".incident-head")).toHaveAttribute("data-status", "closed");
  await ada.goto("/incidents");
  await expect(ada.locator("[data-section=closed-incidents]")).toContainText(`${key} found in a public gist`);
  await screenshot(ada, "incident-7-closed");

  // Its times are on the Trends page: in the chart of the range and in the quarter's row.
  await ada.goto("/trends?range=24h");
  await expect(ada.locator("figure#revocation")).toContainText("mean time to contain");
  const quarter = ada.locator("#response-by-quarter tr[data-kind=incidents]").first();
  await expect(quarter).toBeVisible();
  await expect(quarter.locator("td").nth(3)).not.toHaveText("–");
});

// The console in headless Chromium against a real detector: login, list, filters, detail, status change, roles, escaping, logout.
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { chromiumArgs, chromiumPath, ensureChromium } from "./chromium.ts";
import { adminPassword, analyst, api, bruteForceFrom, bruteForceIp, ingestTokens, login, post, startConsoleStack, takeoverIp, viewer, xssUsername, type ConsoleStack } from "./consoleHarness.ts";

const unavailable = await ensureChromium();

let stack: ConsoleStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Script errors and CSP violations the page reported: none are expected. */
let pageProblems: string[] = [];

beforeAll(async () => {
  if (unavailable) return;
  stack = await startConsoleStack();
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

// A browser round trip can take seconds while the whole suite loads both cores; the default 1 s poll is too tight.
const browserPoll = { timeout: 10_000, interval: 100 };

async function newPage(): Promise<Page> {
  await context?.close();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await context.newPage();
  pageProblems = [];
  p.on("pageerror", (err) => pageProblems.push(`page error: ${err.message}`));
  p.on("console", (m) => {
    // Chromium logs every 4xx answer; the API's refusals are expected, CSP violations and script errors are not.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource: the server responded with a status of 4")) pageProblems.push(`console error: ${m.text()}`);
  });
  await p.goto(stack.console.url);
  return p;
}

/** Signs in and waits for the answer (the button is disabled until then; the form then clears the password). */
async function logIn(p: Page, username: string, password: string): Promise<void> {
  await p.fill("#login-form [name=username]", username);
  await p.fill("#login-form [name=password]", password);
  await p.click("#login-submit");
  await expect.poll(() => p.isEnabled("#login-submit"), browserPoll).toBe(true);
}

const rows = (p: Page) => p.locator("#incident-rows tr");
const rowFor = (p: Page, ip: string) => rows(p).filter({ has: p.locator("td", { hasText: ip }) });
const incidentIdFor = async (ip: string) => {
  const list = await api(`${stack.detector.url}/api/v1/incidents?sourceIp=${ip}`, stack.adminToken);
  return (list.json.items as { id: string }[])[0]!.id;
};

afterEach(() => {
  const problems = pageProblems;
  pageProblems = [];
  expect(problems).toEqual([]);
});


describe.skipIf(unavailable !== "")("console in headless Chromium", { timeout: 60_000 }, () => {
  it("refuses a wrong password and locks an account after repeated failures, saying which", async () => {
    page = await newPage();
    await expect.poll(() => page.isVisible("#login-form"), browserPoll).toBe(true);
    await logIn(page, "admin", "not-the-password");
    await expect.poll(() => page.textContent("#login-error"), browserPoll).toBe("Wrong username or password.");
    // The detector locks after five failures in a row; use the analyst so admin stays usable.
    for (let i = 0; i < 5; i++) await logIn(page, analyst.username, "wrong-password");
    await expect.poll(() => page.textContent("#login-error"), { timeout: 15_000 }).toMatch(/^Account locked: account locked until .+Try again later\.$/);
    await logIn(page, analyst.username, analyst.password);
    await expect.poll(() => page.textContent("#login-error"), browserPoll).toMatch(/^Account locked/);
    expect(await page.isVisible("#list-view")).toBe(false);
  });

  it("logs an admin in and lists both incidents, attacker text shown as text", async () => {
    page = await newPage();
    await logIn(page, "admin", adminPassword);
    await expect.poll(() => rows(page).count(), browserPoll).toBe(2);
    expect(await page.textContent("#whoami")).toBe("admin (admin, tenant default)");
    expect(await rowFor(page, bruteForceIp).textContent()).toContain("T1110.001");
    const takeover = rowFor(page, takeoverIp);
    expect(await takeover.textContent()).toContain("T1078");
    // The attacker-chosen username is in the summary as literal text, never as an element.
    expect(await takeover.locator("td.summary").textContent()).toContain(xssUsername);
    expect(await page.locator("#incidents img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.textContent("#page-info")).toBe("1–2 of 2");
    expect(await page.isDisabled("#next-page")).toBe(true);
  });

  it("filters by technique, source IP, severity and status through the detector's query", async () => {
    await page.fill("#filters [name=technique]", "T1110.001");
    await page.click("#filters button[type=submit]");
    await expect.poll(() => rows(page).count(), browserPoll).toBe(1);
    expect(await rows(page).first().textContent()).toContain(bruteForceIp);
    expect(page.url()).toContain("#/incidents?technique=T1110.001");

    await page.click("#clear-filters");
    await expect.poll(() => rows(page).count(), browserPoll).toBe(2);
    await page.fill("#filters [name=sourceIp]", takeoverIp);
    await page.click("#filters button[type=submit]");
    await expect.poll(() => rows(page).count(), browserPoll).toBe(1);
    expect(await rows(page).first().textContent()).toContain("T1078");

    await page.click("#clear-filters");
    // Routing to the cleared list empties the form: choose the next filter after that, as a user would.
    await expect.poll(() => page.inputValue("#filters [name=sourceIp]"), browserPoll).toBe("");
    await page.selectOption("#filters [name=status]", "resolved");
    await page.click("#filters button[type=submit]");
    await expect.poll(() => page.isVisible("#list-empty"), browserPoll).toBe(true);
    expect(await rows(page).count()).toBe(0);

    // The detector's refusal of a bad filter is shown, not swallowed.
    await page.click("#clear-filters");
    await page.fill("#filters [name=technique]", "brute");
    await page.click("#filters button[type=submit]");
    await expect.poll(() => page.textContent("#list-error"), browserPoll).toContain("technique: must be an ATT&CK technique id");
    await page.click("#clear-filters");
    await expect.poll(() => rows(page).count(), browserPoll).toBe(2);
  });

  it("shows the answer for the last filter when an earlier, slower answer arrives after it", async () => {
    // The unfiltered list is held back 1 s; a filter chosen meanwhile is answered at once.
    const unfiltered = (url: string) => url.includes("/api/v1/incidents?") && !url.includes("status=");
    await page.route((url) => unfiltered(url.href), async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await route.continue();
    });
    try {
      await page.fill("#filters [name=technique]", "T1110.001");
      await page.click("#filters button[type=submit]");
      await expect.poll(() => rows(page).count(), browserPoll).toBe(1);
      const slowRequest = page.waitForRequest((r) => unfiltered(r.url()));
      await page.click("#clear-filters");
      const slow = await slowRequest;
      await page.selectOption("#filters [name=status]", "resolved");
      await page.click("#filters button[type=submit]");
      await expect.poll(() => page.isVisible("#list-empty"), browserPoll).toBe(true);
      // The held-back answer (two open incidents) arrives afterwards, and must not replace the resolved filter's.
      await (await slow.response())?.finished();
      await page.waitForTimeout(300);
      expect(await rows(page).count()).toBe(0);
      expect(await page.isVisible("#list-empty")).toBe(true);
      expect(page.url()).toContain("status=resolved");
    } finally {
      await page.unrouteAll();
    }
    await page.click("#clear-filters");
    await expect.poll(() => rows(page).count(), browserPoll).toBe(2);
  });

  it("opens an incident with its techniques, evidence, scores, times and rule", async () => {
    await rowFor(page, bruteForceIp).locator("a.incident-link").click();
    await expect.poll(() => page.isVisible("#detail-view"), browserPoll).toBe(true);
    await expect.poll(() => page.locator("#techniques tbody tr").count(), browserPoll).toBe(1);
    expect(await page.locator("#techniques tbody tr td").allTextContents()).toEqual(["T1110.001", "Brute Force: Password Guessing", "Credential Access"]);
    expect(await page.textContent("#evidence-total")).toBe("7 linked event(s)");
    expect(await page.locator("#evidence-counts tbody tr td").allTextContents()).toEqual(["auth.failure", "7"]);
    expect(await page.locator("#evidence-events tbody tr").count()).toBe(7);
    const fact = (name: string) => page.textContent(`[data-fact="${name}"]`);
    expect(await fact("Status")).toBe("open");
    expect(await fact("Source IP")).toBe(bruteForceIp);
    expect(await fact("Rules")).toBe("ssh-brute-force");
    expect(await fact("First seen")).toBe("2024-05-14 10:00:00Z");
    expect(await fact("Last seen")).toBe("2024-05-14 10:00:18Z");
    const detail = (await api(`${stack.detector.url}/api/v1/incidents/${await incidentIdFor(bruteForceIp)}`, stack.adminToken)).json;
    expect(await fact("Risk score")).toBe(String(detail.riskScore));
    expect(await fact("Severity")).toBe(detail.severity);
  });

  it("acknowledges the incident, and the detector records it", async () => {
    expect(await page.locator("#status-actions button").allTextContents()).toEqual(["Acknowledge", "Mark contained", "Resolve"]);
    await page.click("#status-actions button[data-status=acknowledged]");
    await expect.poll(() => page.textContent("#detail-notice"), browserPoll).toBe("Status changed to acknowledged.");
    expect(await page.textContent(`[data-fact="Status"]`)).toBe("acknowledged");
    expect(await page.textContent(`[data-fact="Status changed by"]`)).toBe("admin");
    expect(await page.locator("#status-actions button").allTextContents()).toEqual(["Reopen", "Mark contained", "Resolve"]);
    const stored = await api(`${stack.detector.url}/api/v1/incidents/${await incidentIdFor(bruteForceIp)}`, stack.adminToken);
    expect(stored.json).toMatchObject({ status: "acknowledged", statusChangedBy: "admin" });

    await screenshot(page, "detail");
    // Back to the list, filtered on the new status.
    await page.click("#back-to-list");
    await page.selectOption("#filters [name=status]", "acknowledged");
    await page.click("#filters button[type=submit]");
    await expect.poll(() => rows(page).count(), browserPoll).toBe(1);
    expect(await rows(page).first().textContent()).toContain(bruteForceIp);
  });

  it("does not change an incident someone else changed since it was shown: it shows it as it is now, and a second try works", async () => {
    // From the list the test before left (filtered on acknowledged).
    await expect.poll(() => rowFor(page, bruteForceIp).count(), browserPoll).toBe(1);
    await rowFor(page, bruteForceIp).locator("a.incident-link").click();
    await expect.poll(() => page.textContent(`[data-fact="Status"]`), browserPoll).toBe("acknowledged");
    // Another analyst contains it through the API meanwhile.
    const id = await incidentIdFor(bruteForceIp);
    expect((await api(`${stack.detector.url}/api/v1/incidents/${id}`, stack.adminToken, { method: "PATCH", body: { status: "contained" } })).status).toBe(200);
    await page.click("#status-actions button[data-status=resolved]");
    await expect.poll(() => page.textContent("#detail-error"), browserPoll).toMatch(/^Not changed: .*changed since it was read/);
    expect(await page.textContent(`[data-fact="Status"]`)).toBe("contained");
    expect((await api(`${stack.detector.url}/api/v1/incidents/${id}`, stack.adminToken)).json).toMatchObject({ status: "contained" });
    // Now shown as it is, the change goes through.
    await page.click("#status-actions button[data-status=resolved]");
    await expect.poll(() => page.textContent("#detail-notice"), browserPoll).toBe("Status changed to resolved.");
    expect((await api(`${stack.detector.url}/api/v1/incidents/${id}`, stack.adminToken)).json).toMatchObject({ status: "resolved" });
  });

  it("shows the attacker-controlled username as text on the detail page", async () => {
    await page.goto(`${stack.console.url}/#/incident/${await incidentIdFor(takeoverIp)}`);
    await expect.poll(() => page.textContent("#detail-summary"), browserPoll).toContain(`successful login as ${xssUsername}`);
    expect(await page.locator("#detail img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    // A malformed link after it: not found, and the incident shown before is gone.
    await page.goto(`${stack.console.url}/#/incident/%E0%A4%A`);
    await expect.poll(() => page.textContent("#detail-error"), browserPoll).toMatch(/invalid incident id|not found/i);
    expect(await page.textContent("#detail")).not.toContain(xssUsername);
  });

  it("logs out: every session of the user ends, and nothing of theirs stays in the page for the next user", async () => {
    // A user of its own: logging out ends every session of the user, and the other tests use the admin's token.
    const lena = { username: "lena", password: "Night-Shift-Admin-7" };
    expect((await api(`${stack.detector.url}/api/v1/users`, stack.adminToken, { method: "POST", body: { ...lena, role: "admin" } })).status).toBe(201);
    const otherTab = (await login(stack.detector.url, lena.username, lena.password)).token;
    page = await newPage();
    await logIn(page, lena.username, lena.password);
    await page.goto(`${stack.console.url}/#/incidents?sourceIp=${takeoverIp}`);
    await expect.poll(() => rows(page).count(), browserPoll).toBe(1);
    await page.click("#users-link");
    await expect.poll(() => page.locator("#user-rows tr").count(), browserPoll).toBeGreaterThan(0);
    await page.goto(`${stack.console.url}/#/incident/${await incidentIdFor(bruteForceIp)}`);
    await expect.poll(() => page.textContent("#detail-summary"), browserPoll).toBeTruthy();
    const token = await page.evaluate(() => (JSON.parse((globalThis as unknown as { sessionStorage: { getItem(k: string): string } }).sessionStorage.getItem("minixdr.session")) as { token: string }).token);

    await page.click("#logout");
    await expect.poll(() => page.isVisible("#login-form"), browserPoll).toBe(true);
    expect(await page.textContent("#login-error")).toBe("You are signed out.");
    expect(await page.evaluate(() => JSON.stringify((globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length))).toBe("0");
    // The token no longer works, through the console or at the detector, nor does the user's other session; others' do.
    expect((await fetch(`${stack.console.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await api(`${stack.detector.url}/api/v1/me`, otherTab)).status).toBe(401);
    expect((await api(`${stack.detector.url}/api/v1/me`, stack.adminToken)).status).toBe(200);
    // Hidden views keep nothing of the user's: no rows, no users, no incident, no name, no filter.
    expect(await rows(page).count()).toBe(0);
    expect(await page.locator("#user-rows tr").count()).toBe(0);
    expect(await page.textContent("#detail")).toBe("");
    expect(await page.textContent("#whoami")).toBe("");
    expect(await page.inputValue("#filters [name=sourceIp]")).toBe("");

    // The next user of the tab lands on the unfiltered list, not on the previous user's filters.
    await logIn(page, viewer.username, viewer.password);
    await expect.poll(() => rows(page).count(), browserPoll).toBe(2);
    expect(new URL(page.url()).hash).toBe("#/incidents");
    expect(await page.textContent("#whoami")).toBe("viewer1 (viewer, tenant default)");

    // When the detector cannot be told, the page signs out all the same, and says the other sessions may go on.
    const logoutCall = (url: URL) => url.pathname === "/api/v1/auth/logout";
    await page.route(logoutCall, (route) =>
      route.fulfill({ status: 502, contentType: "application/json", body: JSON.stringify({ error: "the detector is unreachable; try again shortly" }) }));
    await page.click("#logout");
    await expect.poll(() => page.isVisible("#login-form"), browserPoll).toBe(true);
    expect(await page.textContent("#login-error")).toBe("You are signed out here, but the server could not end your other sessions (the detector is unreachable; try again shortly); they end when they expire.");
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
    expect(await rows(page).count()).toBe(0);
    await page.unroute(logoutCall);
    // Chromium logs the 502 the test made up.
    pageProblems = pageProblems.filter((p) => !p.includes("status of 502"));
    await page.goto(`${stack.console.url}/#/incidents`);
    await expect.poll(() => page.isVisible("#login-form"), browserPoll).toBe(true);
    expect(await page.isVisible("#list-view")).toBe(false);
  });

  it("a session the detector refuses (401) is signed out with nothing of the user left in the page", async () => {
    page = await newPage();
    await logIn(page, "lena", "Night-Shift-Admin-7");
    await page.goto(`${stack.console.url}/#/incidents?sourceIp=${takeoverIp}`);
    await expect.poll(() => rows(page).count(), browserPoll).toBe(1);
    const token = await page.evaluate(() => (JSON.parse((globalThis as unknown as { sessionStorage: { getItem(k: string): string } }).sessionStorage.getItem("minixdr.session")) as { token: string }).token);
    // Signed out elsewhere (another tab's Log out).
    expect((await api(`${stack.detector.url}/api/v1/auth/logout`, token, { method: "POST" })).status).toBe(204);
    await page.click("#filters button[type=submit]");
    await expect.poll(() => page.textContent("#login-error"), browserPoll).toBe("Your session has expired or was refused; sign in again.");
    expect(await rows(page).count()).toBe(0);
    expect(await page.textContent("#whoami")).toBe("");
    expect(await page.inputValue("#filters [name=sourceIp]")).toBe("");
  });

  it("gives a viewer no status buttons, and the API refuses the change anyway", async () => {
    page = await newPage();
    // A shared link to an incident: the login comes first, then the incident itself.
    const id = await incidentIdFor(takeoverIp);
    await page.goto(`${stack.console.url}/#/incident/${id}`);
    await expect.poll(() => page.isVisible("#login-form"), browserPoll).toBe(true);
    await logIn(page, viewer.username, viewer.password);
    await expect.poll(() => page.textContent("#status-actions"), browserPoll).toContain("Read-only: your role (viewer)");
    expect(await page.textContent("#whoami")).toBe("viewer1 (viewer, tenant default)");
    expect(await page.locator("#status-actions button").count()).toBe(0);
    // The viewer's own token, through the console's proxy, from the page itself.
    const status = await page.evaluate(async (incident) => {
      const session = JSON.parse((globalThis as unknown as { sessionStorage: { getItem(k: string): string } }).sessionStorage.getItem("minixdr.session")) as { token: string };
      const res = await fetch(`/api/v1/incidents/${incident}`, { method: "PATCH", headers: { authorization: `Bearer ${session.token}`, "content-type": "application/json" }, body: JSON.stringify({ status: "resolved" }) });
      return res.status;
    }, id);
    expect(status).toBe(403);
    expect((await api(`${stack.detector.url}/api/v1/incidents/${id}`, stack.adminToken)).json.status).toBe("open");
  });

  it("pages through more incidents than fit on one page", async () => {
    // One more brute force from each of 25 bots: 27 incidents, two pages of 25.
    const records = Array.from({ length: 25 }, (_, n) => bruteForceFrom(`192.0.2.${n + 1}`, 1000 + n * 60)).flat();
    expect((await post(`${stack.detector.url}/api/v1/ingest/cowrie?wait=true`, records.map((r) => JSON.stringify(r)).join("\n"), ingestTokens.default)).status).toBe(200);
    await page.goto(`${stack.console.url}/#/incidents`);
    await expect.poll(() => page.textContent("#page-info"), browserPoll).toBe("1–25 of 27");
    expect(await rows(page).count()).toBe(25);
    expect(await page.isDisabled("#prev-page")).toBe(true);
    await page.click("#next-page");
    await expect.poll(() => page.textContent("#page-info"), browserPoll).toBe("26–27 of 27");
    expect(await rows(page).count()).toBe(2);
    expect(page.url()).toContain("#/incidents?page=2");
    expect(await page.isDisabled("#next-page")).toBe(true);
    await page.click("#prev-page");
    await expect.poll(() => page.textContent("#page-info"), browserPoll).toBe("1–25 of 27");
    // A page past the end (an old link, or its last incidents resolved meanwhile) shows the last page there is.
    await page.goto(`${stack.console.url}/#/incidents?page=9`);
    await expect.poll(() => page.textContent("#page-info"), browserPoll).toBe("26–27 of 27");
    expect(page.url()).toContain("#/incidents?page=2");
  });

  it("shows a refused list request's error alone: no 'no incidents match', no pager left enabled", async () => {
    // The viewer's page is on page 2 of 2 (Previous enabled).
    await page.goto(`${stack.console.url}/#/incidents?page=2`);
    await expect.poll(() => page.textContent("#page-info"), browserPoll).toBe("26–27 of 27");
    expect(await page.isEnabled("#prev-page")).toBe(true);
    await page.goto(`${stack.console.url}/#/incidents?page=2&sourceIp=not-an-ip`);
    await expect.poll(() => page.textContent("#list-error"), browserPoll).toContain("sourceIp");
    expect(await page.isDisabled("#prev-page")).toBe(true);
    expect(await page.isDisabled("#next-page")).toBe(true);
    expect(await page.isVisible("#list-empty")).toBe(false);
    expect(await rows(page).count()).toBe(0);
    // After a list with no match, the same: the error alone.
    await page.goto(`${stack.console.url}/#/incidents?sourceIp=192.0.2.250`);
    await expect.poll(() => page.isVisible("#list-empty"), browserPoll).toBe(true);
    await page.goto(`${stack.console.url}/#/incidents?sourceIp=not-an-ip`);
    await expect.poll(() => page.isVisible("#list-error"), browserPoll).toBe(true);
    expect(await page.isVisible("#list-empty")).toBe(false);
  });

  it("changes the user's own password: the wrong current one is refused, other sessions end, this one goes on", async () => {
    const pat = { username: "pat", password: "First-Secret-42x", next: "Second-Secret-42y" };
    expect((await api(`${stack.detector.url}/api/v1/users`, stack.adminToken, { method: "POST", body: { username: pat.username, password: pat.password, role: "analyst" } })).status).toBe(201);
    const otherSession = (await login(stack.detector.url, pat.username, pat.password)).token;
    page = await newPage();
    await logIn(page, pat.username, pat.password);
    await expect.poll(() => rows(page).count(), browserPoll).toBeGreaterThan(0);
    await page.click("#change-password");
    await expect.poll(() => page.isVisible("#password-form"), browserPoll).toBe(true);
    const submit = async (current: string, next: string, again = next) => {
      await page.fill("#password-form [name=currentPassword]", current);
      await page.fill("#password-form [name=newPassword]", next);
      await page.fill("#password-form [name=confirmPassword]", again);
      await page.click("#password-submit");
    };
    await submit(pat.password, pat.next, "something else");
    await expect.poll(() => page.textContent("#password-error"), browserPoll).toBe("The new passwords do not match.");
    await submit("not-my-password", pat.next);
    await expect.poll(() => page.textContent("#password-error"), browserPoll).toBe("The current password is wrong.");
    await submit(pat.password, "pat");
    await expect.poll(() => page.textContent("#password-error"), browserPoll).toContain("invalid body: newPassword: ");
    await submit(pat.password, pat.next);
    await expect.poll(() => page.textContent("#password-notice"), browserPoll).toBe("Password changed. Your other sessions are signed out.");
    expect(await page.isVisible("#password-error")).toBe(false);
    // The other session is over; this one goes on with its new token.
    expect((await api(`${stack.detector.url}/api/v1/me`, otherSession)).status).toBe(401);
    await page.click("a.brand");
    await expect.poll(() => rows(page).count(), browserPoll).toBeGreaterThan(0);
    expect(await page.isVisible("#login-form")).toBe(false);
    expect((await login(stack.detector.url, pat.username, pat.next)).status).toBe(200);
  });

  it("reloads the shown list every 30 s, so a new incident appears, and leaves a filter being typed alone", async () => {
    const newcomer = "198.51.100.250";
    page = await newPage();
    // Timers run on a clock the test moves; the app must start under it.
    await page.clock.install();
    await page.reload();
    await logIn(page, "admin", adminPassword);
    await page.goto(`${stack.console.url}/#/incidents?sourceIp=${newcomer}`);
    await expect.poll(() => page.isVisible("#list-empty"), browserPoll).toBe(true);
    expect((await post(`${stack.detector.url}/api/v1/ingest/cowrie?wait=true`, bruteForceFrom(newcomer, 5000).map((r) => JSON.stringify(r)).join("\n"), ingestTokens.default)).status).toBe(200);
    await page.fill("#filters [name=technique]", "T1110");
    // Before 30 s nothing reloads; at 30 s the list does.
    await page.clock.runFor(29_000);
    expect(await page.isVisible("#list-empty")).toBe(true);
    await page.clock.runFor(1_500);
    await expect.poll(() => rows(page).count(), browserPoll).toBe(1);
    expect(await rows(page).first().textContent()).toContain(newcomer);
    expect(await page.inputValue("#filters [name=technique]")).toBe("T1110");
  });

  it("pages on from the incidents shown: one appearing meanwhile does not push an incident of page 1 onto page 2 again", async () => {
    page = await newPage();
    await logIn(page, "admin", adminPassword);
    const shownIds = () => rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")!));
    const before = (await api(`${stack.detector.url}/api/v1/incidents?limit=200`, stack.adminToken)).json.items as { id: string }[];
    expect(before.length).toBeGreaterThan(25);
    await expect.poll(() => rows(page).count(), browserPoll).toBe(25);
    const first = await shownIds();
    // New activity while the analyst reads page 1: an incident newer than every one shown.
    const newcomer = "198.51.100.251";
    expect((await post(`${stack.detector.url}/api/v1/ingest/cowrie?wait=true`, bruteForceFrom(newcomer, 9000).map((r) => JSON.stringify(r)).join("\n"), ingestTokens.default)).status).toBe(200);
    await page.click("#next-page");
    await expect.poll(() => page.textContent("#page-info"), browserPoll).toBe(`26–${before.length} of ${before.length + 1}`);
    const second = await shownIds();
    // Page 2 starts right after the last incident on page 1 (counted by offset, that one came again).
    expect([...first, ...second]).toEqual(before.map((i) => i.id));
    expect(await page.isDisabled("#next-page")).toBe(true);
    // Previous: the top of the list as it is now, the newcomer first.
    await page.click("#prev-page");
    await expect.poll(() => rows(page).first().textContent(), browserPoll).toContain(newcomer);
  });

  it("lets an admin add a user, reset their password and delete them, each ending the user's sessions", async () => {
    page = await newPage();
    await logIn(page, "admin", adminPassword);
    await expect.poll(() => page.isVisible("#users-link"), browserPoll).toBe(true);
    await page.click("#users-link");
    const userRow = (name: string) => page.locator(`#user-rows tr[data-username="${name}"]`);
    await expect.poll(() => userRow("admin").textContent(), browserPoll).toContain("(you)");
    expect(await userRow(viewer.username).textContent()).toContain("viewer");
    const add = async (username: string, password: string, role: string) => {
      await page.fill("#new-user-form [name=username]", username);
      await page.fill("#new-user-form [name=password]", password);
      await page.selectOption("#new-user-form [name=role]", role);
      await page.click("#new-user-submit");
    };
    await add("rosa", "short", "analyst");
    await expect.poll(() => page.textContent("#users-error"), browserPoll).toContain("invalid body: password: ");
    await add("rosa", "Triage-Night-Shift-7", "analyst");
    await expect.poll(() => page.textContent("#users-notice"), browserPoll).toBe("Added rosa.");
    expect(await userRow("rosa").textContent()).toContain("analyst");
    const first = (await login(stack.detector.url, "rosa", "Triage-Night-Shift-7")).token;

    // An admin of tenant default may add a user to another configured tenant: not listed here, signs in there.
    await page.fill("#new-user-form [name=tenant]", "acme");
    await add("acme-admin", "Acme-First-Admin-9", "admin");
    await expect.poll(() => page.textContent("#users-notice"), browserPoll).toBe("Added acme-admin to tenant acme.");
    expect(await userRow("acme-admin").count()).toBe(0);
    expect((await login(stack.detector.url, "acme-admin", "Acme-First-Admin-9", "acme")).status).toBe(200);
    expect((await login(stack.detector.url, "acme-admin", "Acme-First-Admin-9")).status).toBe(401);
    await page.fill("#new-user-form [name=tenant]", "nowhere");
    await add("lost", "Lost-In-Space-2024", "viewer");
    await expect.poll(() => page.textContent("#users-error"), browserPoll).toMatch(/tenant: is not one of the configured tenants \(default, acme\)/);
    await page.fill("#new-user-form [name=tenant]", "");

    await page.fill("#reset-form [name=username]", "rosa");
    await page.fill("#reset-form [name=password]", "Morning-Shift-Now-8");
    await page.click("#reset-submit");
    await expect.poll(() => page.textContent("#users-notice"), browserPoll).toBe("Reset the password of rosa; their sessions are over.");
    expect((await api(`${stack.detector.url}/api/v1/me`, first)).status).toBe(401);
    const second = (await login(stack.detector.url, "rosa", "Morning-Shift-Now-8")).token;
    expect((await api(`${stack.detector.url}/api/v1/me`, second)).status).toBe(200);

    await userRow("rosa").locator("button.delete-user").click();
    await expect.poll(() => page.textContent("#users-notice"), browserPoll).toBe("Deleted rosa; their sessions are over.");
    expect(await userRow("rosa").count()).toBe(0);
    expect((await api(`${stack.detector.url}/api/v1/me`, second)).status).toBe(401);

    // Not for a viewer: no link, and the detector refuses the list through the console anyway.
    page = await newPage();
    await logIn(page, viewer.username, viewer.password);
    await expect.poll(() => rows(page).count(), browserPoll).toBeGreaterThan(0);
    expect(await page.isVisible("#users-link")).toBe(false);
    await page.goto(`${stack.console.url}/#/users`);
    await expect.poll(() => page.textContent("#users-error"), browserPoll).toBe("this needs role admin; viewer1 is viewer");
  });
});

/** Writes a screenshot when MINIXDR_CONSOLE_SCREENSHOT_DIR is set, to look at the page by eye. */
async function screenshot(p: Page, name: string): Promise<void> {
  const dir = process.env.MINIXDR_CONSOLE_SCREENSHOT_DIR;
  if (!dir) return;
  await p.screenshot({ path: join(dir, `console-${name}.png`), fullPage: true });
}

// Browser scenarios for tests/web.rs, in Debian's headless Chromium driven by playwright-core.
// Usage: node run.mjs <scenario>; settings come from the environment (GATEWAY, PAGE_PORT,
// USERNAME, PASSWORD, APP_SECRET, PHONE_NUMBER_ID, BUSINESS_NUMBER, ARTIFACTS). Exits 0 when
// every check held; prints what it checked.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const env = process.env;
const GATEWAY = env.GATEWAY;
const ARTIFACTS = env.ARTIFACTS;
const here = path.dirname(fileURLToPath(import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });
const T = 30000;

const started = Date.now();
function check(ok, what) {
  if (!ok) throw new Error("check failed: " + what);
  console.log("ok - " + what + " (" + ((Date.now() - started) / 1000).toFixed(1) + " s)");
}

// The shop's page, on its own origin, embedding the widget with the one-line snippet.
function shop(port) {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Example shop</h1><p>Products…</p>
<script src="${GATEWAY}/widget.js" data-site="shop" async></script></body></html>`;
  const server = createServer((req, res) => { res.writeHead(200, { "content-type": "text/html" }); res.end(html); });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

// `media`: a fake microphone (Chromium's beep) granted without asking, and audio that plays
// without a gesture — for calls.
async function launch(media) {
  const calls = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required"];
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", ...(media ? calls : [])],
  });
}

async function login(page, presence) {
  await page.goto(GATEWAY + "/");
  await page.getByLabel("Username").fill(env.USERNAME);
  await page.getByLabel("Password").fill(env.PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#app").waitFor();
  if (presence) {
    const saved = page.waitForResponse((r) => r.url().endsWith("/api/v1/me/presence") && r.ok());
    await page.getByLabel("Presence").selectOption(presence);
    await saved;
  }
  // The live feed is open: calls ring for the agent from now on.
  await page.locator("body.live").waitFor({ timeout: T });
}

async function openWidget(v, name) {
  await v.goto(`http://127.0.0.1:${env.PAGE_PORT}/`);
  await v.getByRole("button", { name: "Chat with us" }).click();
  await v.getByRole("dialog").waitFor();
  await v.getByLabel("Your name").fill(name);
  await v.getByRole("button", { name: "Start chat" }).click();
  await v.getByLabel("Your message").waitFor();
}

async function say(v, text) {
  await v.getByLabel("Your message").fill(text);
  await v.getByLabel("Your message").press("Enter");
}

function metaWebhook(from, text, id, name) {
  return {
    object: "whatsapp_business_account",
    entry: [{ id: "WABA", changes: [{ field: "messages", value: {
      messaging_product: "whatsapp",
      metadata: { display_phone_number: env.BUSINESS_NUMBER.slice(1), phone_number_id: env.PHONE_NUMBER_ID },
      contacts: [{ profile: { name: name || "Vera" }, wa_id: from }],
      messages: [{ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body: text } }],
    } }] }],
  };
}

async function postMeta(body) {
  const raw = JSON.stringify(body);
  const sig = "sha256=" + createHmac("sha256", env.APP_SECRET).update(raw).digest("hex");
  const r = await fetch(GATEWAY + "/webhooks/meta/main", { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sig }, body: raw });
  check(r.status === 200, "signed Meta webhook accepted (" + r.status + ")");
}

async function counts(loc, texts) {
  for (const t of texts) {
    const n = await loc.filter({ hasText: t }).count();
    check(n === 1, `"${t}" shown exactly once (${n})`);
  }
}

// A visitor and an agent chat live; the visitor's network is cut and restored.
async function chat(browser) {
  const actx = await browser.newContext();
  const a = await actx.newPage();
  await login(a, "available");
  const vctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const v = await vctx.newPage();
  await openWidget(v, "Vera");
  await say(v, "Hello, I need help");
  await v.locator(".m.visitor:not(.sending)", { hasText: "Hello, I need help" }).waitFor({ timeout: T });
  // The offer reaches the agent live: title badge and the list.
  await a.waitForFunction(() => document.title.startsWith("(1)"), null, { timeout: T });
  check(true, "the agent's title shows the new offer");
  await a.locator(".item", { hasText: "Vera" }).click();
  await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
  await a.locator(".msg", { hasText: "Hello, I need help" }).waitFor({ timeout: T });
  await v.locator(".status", { hasText: "An agent joined" }).waitFor({ timeout: T });
  check(true, "the visitor is told an agent joined");
  check((await v.getByRole("button", { name: "Continue on WhatsApp" }).count()) === 0, "no WhatsApp offer while an agent chats");
  await a.getByLabel("Reply", { exact: true }).fill("Hi Vera, how can I help?");
  await a.getByRole("button", { name: "Send" }).click();
  await v.locator(".m.agent", { hasText: "Hi Vera, how can I help?" }).waitFor({ timeout: T });
  check(true, "the agent's reply reaches the visitor live");
  const agentName = (await a.locator("#me").innerText()).replace(/ \([a-z]+\)$/, "");
  const shownName = await v.locator(".m.agent .who").first().innerText();
  check(shownName === agentName, "the reply shows the agent's name (" + shownName + ")");
  await say(v, "My order is late");
  await a.locator(".msg", { hasText: "My order is late" }).waitFor({ timeout: T });
  check(true, "the visitor's message reaches the agent live");
  // Typing indicator, agent side.
  // Typing signals are throttled (one per 2 s): keep typing until one shows.
  let seenTyping = false;
  for (let i = 0; i < 15 && !seenTyping; i++) {
    await v.getByLabel("Your message").pressSequentially("a");
    seenTyping = await a.locator("#typing", { hasText: "typing" }).waitFor({ timeout: 1000 }).then(() => true, () => false);
  }
  check(seenTyping, "the agent sees the visitor typing");
  await v.getByLabel("Your message").fill("");

  // Network cut: what happens meanwhile arrives once after the reconnect.
  await vctx.setOffline(true);
  await v.locator(".status", { hasText: "Reconnecting" }).waitFor({ timeout: T });
  for (const t of ["Sent during the cut, one", "Sent during the cut, two"]) {
    await a.getByLabel("Reply", { exact: true }).fill(t);
    await a.getByRole("button", { name: "Send" }).click();
    await a.locator(".msg", { hasText: t }).waitFor({ timeout: T });
  }
  await say(v, "Typed while offline");
  check((await v.locator(".m.agent").count()) === 1, "nothing reaches the visitor while offline");
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-offline.png") });
  await vctx.setOffline(false);
  await v.locator(".m.agent", { hasText: "Sent during the cut, two" }).waitFor({ timeout: T });
  await a.locator(".msg", { hasText: "Typed while offline" }).waitFor({ timeout: T });
  await v.locator(".m.visitor:not(.sending)", { hasText: "Typed while offline" }).waitFor({ timeout: T });
  await counts(v.locator(".m.agent"), ["Hi Vera, how can I help?", "Sent during the cut, one", "Sent during the cut, two"]);
  await counts(v.locator(".m.visitor"), ["Hello, I need help", "My order is late", "Typed while offline"]);
  check((await v.locator(".m.agent").count()) === 3 && (await v.locator(".m.visitor").count()) === 3, "no message lost or doubled on the visitor's side");
  await counts(a.locator(".msg.in"), ["Hello, I need help", "My order is late", "Typed while offline"]);
  check((await a.locator(".msg.in").count()) === 3, "no message lost or doubled on the agent's side");
  // Keyboard: Escape closes the chat and gives focus back to the button.
  await v.getByLabel("Your message").press("Escape");
  check(await v.evaluate(() => document.activeElement && document.activeElement.id === "deflect-chat-button"), "Escape closes the chat, focus returns to its button");
  await v.getByRole("button", { name: "Chat with us" }).click();
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-chat.png") });
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-chat.png") });
}

// No agent: the QR code appears, decodes to the wa.me link, and WhatsApp continues the chat.
async function escalation(browser) {
  const vctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const v = await vctx.newPage();
  await openWidget(v, "Vera");
  await say(v, "Is anyone there?");
  await v.locator(".m.visitor:not(.sending)", { hasText: "Is anyone there?" }).waitFor({ timeout: T });
  const qr = v.locator(".wa .qr svg");
  await qr.waitFor({ timeout: T });
  check(true, "the QR code appears after the escalation timeout");
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-qr.png") });
  const svg = await qr.evaluate((n) => n.outerHTML);
  const href = await v.locator(".wa a", { hasText: "Open WhatsApp" }).getAttribute("href");
  // Decode the QR for real: render the SVG on a canvas and read it with jsQR.
  const d = await vctx.newPage();
  await d.goto("about:blank");
  await d.addScriptTag({ path: path.join(here, "node_modules/jsqr/dist/jsQR.js") });
  const decoded = await d.evaluate(async (svg) => {
    const img = new Image();
    img.src = "data:image/svg+xml;base64," + btoa(svg);
    await img.decode();
    const c = document.createElement("canvas");
    c.width = 400; c.height = 400;
    const g = c.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, 400, 400);
    g.drawImage(img, 0, 0, 400, 400);
    const px = g.getImageData(0, 0, 400, 400);
    const r = window.jsQR(px.data, 400, 400);
    return r && r.data;
  }, svg);
  const re = new RegExp("^https://wa\\.me/" + env.BUSINESS_NUMBER.slice(1) + "\\?text=Continue\\+my\\+chat\\+%28ref\\+([A-Z2-9]{6})%29$");
  const m = decoded && decoded.match(re);
  check(!!m, "the QR decodes to the wa.me link of the business number with a code: " + decoded);
  check(decoded === href, "the QR and the mobile button open the same link");
  const text = decodeURIComponent(decoded.split("?text=")[1].replace(/\+/g, " "));
  // The customer sends the prefilled message on WhatsApp.
  await postMeta(metaWebhook("31687654321", text, "wamid.browser-" + Date.now()));
  await v.locator(".m.system", { hasText: "continues on WhatsApp" }).waitFor({ timeout: T });
  check(true, "the widget says the conversation continues on WhatsApp");
  check(await v.getByLabel("Your message").isHidden(), "the widget no longer takes messages");
  // A reload shows the history and where the chat went on — not a new pre-chat form.
  await v.reload();
  await v.getByRole("button", { name: "Chat with us" }).click();
  await v.locator(".m.visitor", { hasText: "Is anyone there?" }).waitFor({ timeout: T });
  await v.locator(".m.system", { hasText: "This chat continues on WhatsApp" }).waitFor({ timeout: T });
  check(await v.getByRole("button", { name: "Start chat" }).isHidden(), "after a reload: the history and the WhatsApp notice, no pre-chat form");
  // The agent finds one conversation with the web history and the WhatsApp message.
  const a = await (await browser.newContext()).newPage();
  await login(a, "available");
  await a.locator(".item", { hasText: "Vera" }).click({ timeout: T });
  await a.locator(".msg", { hasText: "Is anyone there?" }).waitFor({ timeout: T });
  await a.locator(".msg", { hasText: "ref " + m[1] }).waitFor({ timeout: T });
  check((await a.locator(".item", { hasText: "Vera" }).count()) === 1, "one conversation, not two");
  const head = await a.locator("#conv-actions").innerText();
  check(head.includes("WhatsApp"), "the conversation's channel is now WhatsApp");
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-handoff.png") });
  // The code is spent: the same text again opens no second link to this conversation.
  await postMeta(metaWebhook("31600000000", text, "wamid.browser-again-" + Date.now()));
}

// The sandbox phone plays the customer's WhatsApp: it writes to the business, sees the agent's
// answer and the template sent to its number, taps the template's button and writes again;
// the agent sees each reply. The phone page refreshes itself; the checks wait for what it shows.
async function sandbox(browser) {
  const number = "+31612345678";
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const a = await ctx.newPage();
  await login(a, "available");
  // The phone page needs a login to the inbox: the same browser's session.
  const p = await ctx.newPage();
  await p.goto(GATEWAY + "/sandbox?number=" + encodeURIComponent(number));
  // The page lists the sandbox accounts once it has asked the gateway for them.
  await p.locator("#account option").first().waitFor({ state: "attached", timeout: T });
  const account = await p.locator("#account").inputValue();
  check(account === "sandbox", "the phone offers the sandbox account (" + account + ")");
  const screen = p.getByRole("log", { name: "Chat with the business" });
  await screen.waitFor({ timeout: T });
  await p.getByLabel("Message").fill("Hello, I called about my order");
  await p.getByRole("button", { name: "Send" }).click();
  await screen.locator(".bubble.in", { hasText: "Hello, I called about my order" }).waitFor({ timeout: T });
  check(true, "the phone shows the customer's message as sent");
  // The agent gets the offer, accepts and answers.
  const item = a.locator(".item", { hasText: number });
  await item.click({ timeout: T });
  const id = Number(await item.getAttribute("data-id"));
  await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
  await a.locator(".msg.in", { hasText: "Hello, I called about my order" }).waitFor({ timeout: T });
  check(true, "the agent sees the customer's message from the phone");
  await a.getByLabel("Reply", { exact: true }).fill("Hi! Your order ships tomorrow.");
  await a.getByRole("button", { name: "Send" }).click();
  await screen.locator(".bubble.out", { hasText: "Hi! Your order ships tomorrow." }).waitFor({ timeout: T });
  check(true, "the agent's answer shows up on the phone");
  // A template to the number (the recontact template, as after a call): shown with its button.
  const status = await a.evaluate(async (id) => {
    const s = await (await fetch("/api/v1/session")).json();
    const r = await fetch("/api/v1/conversations/" + id + "/recontact", { method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": s.csrf }, body: JSON.stringify({ client_key: "sandbox-template" }) });
    return r.status;
  }, id);
  check(status === 201, "the agent's page sends the template (" + status + ")");
  const template = screen.locator(".bubble.out", { hasText: "Template" });
  await template.waitFor({ timeout: T });
  check(true, "the template sent to the number shows up on the phone");
  await template.getByRole("button", { name: "Reply: Yes, chat with us" }).click();
  await screen.locator(".bubble.in", { hasText: "Yes, chat with us" }).waitFor({ timeout: T });
  await a.locator(".msg.in", { hasText: "Yes, chat with us" }).waitFor({ timeout: T });
  check(true, "the agent sees the customer's tap on the template's button");
  await p.getByLabel("Message").fill("Great, thank you!");
  await p.getByLabel("Message").press("Enter");
  await a.locator(".msg.in", { hasText: "Great, thank you!" }).waitFor({ timeout: T });
  check(true, "the agent sees the customer's reply live");
  // Each message once, in order, on the phone.
  const bubbles = await screen.locator(".bubble").evaluateAll((ns) => ns.map((n) => n.className.split(" ")[1] + ":" + n.firstChild.textContent));
  const expected = ["in:Hello, I called about my order", "out:Hi! Your order ships tomorrow.", "out:Template", "in:Yes, chat with us", "in:Great, thank you!"];
  check(bubbles.length === expected.length && expected.every((e, i) => bubbles[i].startsWith(e)),
    "the phone shows each message once, in order: " + JSON.stringify(bubbles));
  // A picture the agent sends shows on the phone.
  const sentPicture = await a.evaluate(async (id) => {
    const c = document.createElement("canvas"); c.width = 64; c.height = 48;
    const g = c.getContext("2d"); g.fillStyle = "#0b6e4f"; g.fillRect(0, 0, 64, 48);
    const blob = await new Promise((r) => c.toBlob(r, "image/png"));
    const s = await (await fetch("/api/v1/session")).json();
    const up = await (await fetch("/api/v1/conversations/" + id + "/attachments?filename=plan.png",
      { method: "POST", headers: { "x-csrf-token": s.csrf }, body: blob })).json();
    const r = await fetch("/api/v1/conversations/" + id + "/messages", { method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": s.csrf }, body: JSON.stringify({ text: "The plan", attachments: [{ token: up.token }] }) });
    return r.status;
  }, id);
  check(sentPicture === 201, "the agent sends a picture (" + sentPicture + ")");
  const picture = screen.locator(".bubble.out", { hasText: "The plan" }).locator("img.file");
  await picture.waitFor({ timeout: T });
  const shownWidth = await until("the picture on the phone", () => picture.evaluate((i) => i.complete && i.naturalWidth));
  check(shownWidth === 64, "the phone shows the agent's picture (" + shownWidth + " px wide)");
  await p.screenshot({ path: path.join(ARTIFACTS, "sandbox-phone.png") });
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-sandbox.png") });
}

// 1,000 open conversations: the list is virtualised and the page keeps working.
async function scale(browser) {
  const batch = { object: "whatsapp_business_account", entry: [{ id: "WABA", changes: [{ field: "messages", value: {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: env.BUSINESS_NUMBER.slice(1), phone_number_id: env.PHONE_NUMBER_ID },
    contacts: [], messages: [] } }] }] };
  const value = batch.entry[0].changes[0].value;
  for (let i = 0; i < 1000; i++) {
    const from = String(31600000000 + i);
    value.contacts.push({ profile: { name: "Customer " + i }, wa_id: from });
    value.messages.push({ from, id: "wamid.scale-" + i, timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body: "Question " + i } });
  }
  await postMeta(batch);
  const a = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  const t0 = Date.now();
  await login(a, null);
  await a.getByRole("button", { name: "Queue" }).click();
  await a.locator("#count", { hasText: /^1,000\+? conversations$/ }).waitFor({ timeout: T });
  console.log("# queue of 1000 listed " + (Date.now() - t0) + " ms after loading the page");
  const rendered = await a.locator(".item").count();
  check(rendered > 5 && rendered < 80, "the list renders only what is visible (" + rendered + " rows for 1000)");
  await a.locator("#list").evaluate((l) => { l.scrollTop = l.scrollHeight; });
  await a.locator(".item", { hasText: "Customer 0" }).first().waitFor({ timeout: T });
  check(true, "scrolled to the end: the oldest conversation is shown");
  const t1 = Date.now();
  await a.locator(".item", { hasText: "Customer 0" }).first().click();
  await a.locator(".msg", { hasText: "Question 0" }).waitFor({ timeout: T });
  console.log("# opening a conversation took " + (Date.now() - t1) + " ms");
  await a.getByLabel("Search", { exact: true }).isHidden();
  await a.getByRole("button", { name: "All conversations" }).click();
  await a.getByLabel("Search", { exact: true }).fill("Customer 999");
  await a.getByRole("button", { name: "Filter" }).click();
  await a.locator("#count", { hasText: /^1 conversation$/ }).waitFor({ timeout: T });
  check(true, "the text search finds one conversation among 1000");
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-1000.png") });
}

// Automations in the widget: while no agent is free the visitor hears their place in the
// queue; once an agent has answered and closed the conversation, the widget asks for a
// rating, and the score and comment reach the supervisor.
async function automations(browser) {
  const vctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const v = await vctx.newPage();
  await openWidget(v, "Vera");
  await v.getByText("Welcome, Vera! We answer within minutes.").waitFor({ timeout: T });
  check(true, "the visitor is welcomed by name");
  await v.locator(".m", { hasText: "You are number 1 in line; the wait is a few minutes." }).waitFor({ timeout: T });
  check(true, "the visitor is told their place in the queue and the wait");
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-queue-position.png") });
  await say(v, "Where is my order?");
  await v.locator(".m.visitor:not(.sending)", { hasText: "Where is my order?" }).waitFor({ timeout: T });
  // An agent becomes available: the waiting conversation is offered to her.
  const a = await (await browser.newContext()).newPage();
  await login(a, "available");
  await a.locator(".item", { hasText: "Vera" }).click();
  await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
  await a.getByLabel("Reply", { exact: true }).fill("It ships today.");
  await a.getByRole("button", { name: "Send" }).click();
  await v.locator(".m.agent", { hasText: "It ships today." }).waitFor({ timeout: T });
  // Reply buttons: the visitor taps one, and the agent sees the choice.
  await a.getByRole("button", { name: "Add buttons" }).click();
  await a.getByLabel("Button 1 title").fill("Yes, thanks");
  await a.getByLabel("Button 2 title").fill("Not yet");
  await a.getByLabel("Reply", { exact: true }).fill("Did that answer your question?");
  await a.getByRole("button", { name: "Send" }).click();
  const answers = v.getByRole("group", { name: "Answers" });
  await answers.getByRole("button", { name: "Yes, thanks" }).click();
  await a.locator(".reply", { hasText: "↩ Yes, thanks" }).waitFor({ timeout: T });
  check(true, "the visitor taps a reply button and the agent sees the choice");
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-reply-buttons.png") });
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-reply-buttons.png") });
  await a.getByRole("button", { name: "Close" }).click();
  const rating = v.getByRole("group", { name: "Rate this conversation" });
  await rating.waitFor({ timeout: T });
  check(true, "the widget asks for a rating when the conversation ends");
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-rating.png") });
  await rating.getByRole("button", { name: "Good" }).click();
  await v.getByLabel("Thank you! Anything you would like to tell us?").fill("Quick and friendly");
  await rating.getByRole("button", { name: "Send" }).click();
  await rating.getByText("Thank you!").waitFor({ timeout: T });
  check(true, "the rating and the comment are taken");
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-rated.png") });
  const found = await a.evaluate(async () => {
    const r = await fetch("/api/v1/conversations?status=closed");
    const list = (await r.json()).conversations;
    const c = list.find((c) => c.contact_name === "Vera");
    return c && { score: c.csat_score, comment: c.csat_comment };
  });
  check(found && found.score === 5 && found.comment === "Quick and friendly", "the supervisor sees score 5 and the comment: " + JSON.stringify(found));

  // The admin manages canned answers, the whitelist and the FAQ in Settings.
  await a.getByRole("button", { name: "Settings" }).click();
  const canned = a.locator("fieldset", { has: a.locator("legend", { hasText: "Canned answers" }) });
  await canned.getByLabel("Title", { exact: true }).fill("Opening hours");
  await canned.getByLabel(/^Text/).fill("We are open 9 to 5.");
  await canned.getByRole("button", { name: "Add", exact: true }).click();
  await a.getByRole("button", { name: "Edit canned answer: Opening hours" }).click();
  await canned.getByLabel(/^Text/).fill("We are open 9 to 6, {{customer_name}}.");
  await canned.getByRole("button", { name: "Save", exact: true }).click();
  await a.locator("fieldset", { has: a.locator("legend", { hasText: "Canned answers" }) }).getByRole("cell", { name: "We are open 9 to 6, {{customer_name}}." }).waitFor({ timeout: T });
  check(await a.getByRole("cell", { name: "We are open 9 to 5." }).count() === 0, "a canned answer is added and edited in Settings");
  const whitelist = a.locator("fieldset", { has: a.locator("legend", { hasText: "Whitelist" }) });
  await whitelist.getByLabel("Number or prefix").fill("+3120*");
  await whitelist.getByRole("button", { name: "Add to whitelist" }).click();
  await a.getByRole("button", { name: "Delete +3120* for every account" }).waitFor({ timeout: T });
  check(true, "a whitelist entry is added in Settings");
  const faq = a.locator("fieldset", { has: a.locator("legend", { hasText: "FAQ" }) });
  await faq.getByLabel("Question").fill("Where is my invoice?");
  await faq.getByLabel(/^Answer/).fill("Under Billing, {{customer_name}}.");
  await faq.getByRole("button", { name: "Add question" }).click();
  await a.getByRole("button", { name: "Edit: Where is my invoice?" }).waitFor({ timeout: T });
  check(true, "an FAQ entry is added in Settings");
  await faq.scrollIntoViewIfNeeded();
  await a.screenshot({ path: path.join(ARTIFACTS, "settings-whitelist-faq.png"), fullPage: true });
  const lists = await a.evaluate(async () => {
    const [w, f] = await Promise.all([fetch("/api/v1/whitelist"), fetch("/api/v1/faq")].map(async (r) => (await r).json()));
    return { patterns: w.whitelist.map((e) => e.pattern), questions: f.faq.map((e) => e.question) };
  });
  check(lists.patterns.includes("+3120*") && lists.questions.includes("Where is my invoice?"), "the API lists both: " + JSON.stringify(lists));

  // Settings: what the configuration file sets is read-only; the shop site's greeting is
  // changed here and a new visitor sees it, without a restart.
  const settings = a.locator("#settings");
  await settings.scrollIntoViewIfNeeded();
  check(await settings.getByLabel("Welcome message", { exact: true }).isDisabled(), "the welcome the configuration file sets is read-only");
  check(await settings.getByText("set in the configuration file (inbox.automations.welcome_message)").count() === 1, "its source is named");
  await settings.getByLabel("What to change").selectOption("site:shop");
  const site = a.getByRole("form", { name: "Settings of Widget site shop" });
  await site.getByLabel("Greeting", { exact: true }).fill("Hi! Ask us anything about your order.");
  await site.getByRole("button", { name: "Save" }).click();
  await a.getByRole("form", { name: "Settings of Widget site shop" }).getByText("changed here").waitFor({ timeout: T });
  await a.getByRole("form", { name: "Settings of Widget site shop" }).screenshot({ path: path.join(ARTIFACTS, "settings-site-texts.png") });
  const w = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  await w.goto(`http://127.0.0.1:${env.PAGE_PORT}/`);
  await w.getByRole("button", { name: "Chat with us" }).click();
  await w.getByText("Hi! Ask us anything about your order.").waitFor({ timeout: T });
  check(true, "a new visitor sees the greeting changed in Settings");
  await w.screenshot({ path: path.join(ARTIFACTS, "widget-greeting-from-settings.png") });

  // An outgoing webhook endpoint added in Settings; its secret never comes back.
  const hooks = a.locator("fieldset", { has: a.locator("legend", { hasText: "Webhooks" }) });
  await hooks.getByLabel(/^Name/).fill("crm");
  await hooks.getByLabel("URL").fill("http://127.0.0.1:9/hooks/deflect");
  await hooks.getByLabel(/^Signing secret/).fill("a-long-signing-secret-1234");
  await hooks.getByRole("button", { name: "Add endpoint" }).click();
  await a.getByRole("button", { name: "Delete webhook crm" }).waitFor({ timeout: T });
  const listed = await a.evaluate(async () => (await fetch("/api/v1/webhooks")).text());
  check(listed.includes("\"crm\"") && !listed.includes("a-long-signing-secret-1234"), "a webhook endpoint is added in Settings and its secret is not shown");
  await a.locator("#admin").screenshot({ path: path.join(ARTIFACTS, "settings-page.png") });
}

// Templates: a customer writes on WhatsApp; the agent claims the conversation, opens the
// template picker, finds the WhatsApp Business Account's template (fetched from the fake Graph
// API at start) by name, fills in its two parameters, sees the exact text in the preview and
// sends it; the message shows that text. tests/web.rs checks what Meta received.
async function templates(browser) {
  await postMeta(metaWebhook("31612345678", "Where is my order?", "wamid.browser-tpl-" + Date.now()));
  const a = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await login(a, null);
  await a.getByRole("button", { name: "Queue" }).click();
  await a.locator(".item", { hasText: "Vera" }).click({ timeout: T });
  await a.getByRole("button", { name: "Claim" }).click();
  await a.getByRole("button", { name: "Template…" }).click();
  await a.getByLabel("Search by name").fill("order");
  const options = a.locator("#template-choice option");
  await options.first().waitFor({ state: "attached", timeout: T });
  const shown = await options.allTextContents();
  check(shown.length === 1 && shown[0] === "order_update · en_US · UTILITY · APPROVED",
    "the picker finds the template by name with its language, category and status: " + JSON.stringify(shown));
  await a.getByLabel("Parameter {{1}}").fill("Vera");
  await a.getByLabel("Parameter {{2}}").fill("Monday");
  const preview = await a.locator("#template-preview").textContent();
  check(preview === "Hi Vera, your order ships on Monday.", "the preview shows the exact text: " + JSON.stringify(preview));
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-template-picker.png") });
  const sent = a.waitForResponse((r) => r.url().endsWith("/messages") && r.request().method() === "POST");
  await a.getByRole("button", { name: "Send template" }).click();
  check((await sent).status() === 201, "the template is sent");
  await a.locator(".msg.out", { hasText: "Hi Vera, your order ships on Monday." }).waitFor({ timeout: T });
  check(await a.locator("#template").isHidden(), "the picker closes; the message shows the text the customer received");
}

// A fake of the Graph API on META_PORT, as the gateway's account `main` calls it: customers'
// files by media id (lookup, then the file, both with the bearer token), sends answered with
// a fresh wamid, read receipts and typing indicators answered `success`. Records each send.
function fakeGraph() {
  const media = new Map(), sent = [];
  let n = 0;
  const base = "http://127.0.0.1:" + env.META_PORT;
  const server = createServer((req, res) => {
    const json = (status, v) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(v)); };
    if (req.headers.authorization !== "Bearer token") return json(401, { error: { message: "Invalid OAuth access token", code: 190 } });
    const parts = req.url.split("/").filter(Boolean);
    if (req.method === "GET" && parts[0] === "media" && media.has(parts[1])) {
      const m = media.get(parts[1]);
      res.writeHead(200, { "content-type": m.type }); return res.end(m.bytes);
    }
    if (req.method === "GET" && media.has(parts[1])) {
      const m = media.get(parts[1]);
      return json(200, { messaging_product: "whatsapp", url: base + "/media/" + parts[1], mime_type: m.type, sha256: "x", file_size: m.bytes.length, id: parts[1] });
    }
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      const b = JSON.parse(body || "{}");
      sent.push(b);
      if (b.status === "read") return json(200, { success: true });
      n += 1;
      json(200, { messaging_product: "whatsapp", contacts: [{ input: b.to, wa_id: b.to }], messages: [{ id: "wamid.out" + n }] });
    });
  });
  return new Promise((resolve) => server.listen(Number(env.META_PORT), "127.0.0.1", () => resolve({ server, media, sent })));
}

// One signed Meta delivery of `value` (messages or statuses) for the account's number.
function metaDelivery(value) {
  return { object: "whatsapp_business_account", entry: [{ id: "WABA", changes: [{ field: "messages", value: {
    messaging_product: "whatsapp", metadata: { display_phone_number: env.BUSINESS_NUMBER.slice(1), phone_number_id: env.PHONE_NUMBER_ID },
    ...value } }] }] };
}

async function until(what, f) {
  const end = Date.now() + T;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A customer sends a photo and a voice note; the agent sees the picture and a player, the
// customer's phone is told they were read and that the agent types; the agent's replies show
// their ticks, and a 131047 failure is explained — still after a reload.
async function rich(browser) {
  const graph = await fakeGraph();
  try {
    const from = "31611122233", now = () => String(Math.floor(Date.now() / 1000));
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const a = await ctx.newPage();
    await login(a, "available");
    // The photo, drawn by the browser; the voice note, spoken by espeak-ng and encoded as
    // WhatsApp's voice notes are (Ogg Opus) by opusenc.
    const jpeg = Buffer.from(await a.evaluate(() => {
      const c = document.createElement("canvas"); c.width = 320; c.height = 200;
      const g = c.getContext("2d");
      g.fillStyle = "#dfe9f3"; g.fillRect(0, 0, 320, 200);
      g.fillStyle = "#7a8a99"; g.fillRect(60, 40, 200, 120);
      g.strokeStyle = "#b00020"; g.lineWidth = 6; g.beginPath(); g.moveTo(80, 60); g.lineTo(240, 140); g.stroke();
      g.fillStyle = "#222"; g.font = "20px sans-serif"; g.fillText("Broken hinge", 100, 190);
      return c.toDataURL("image/jpeg", 0.9).split(",")[1];
    }), "base64");
    graph.media.set("img1", { type: "image/jpeg", bytes: jpeg });
    const wav = path.join(ARTIFACTS, "voice-note.wav"), ogg = path.join(ARTIFACTS, "voice-note.ogg");
    execFileSync("espeak-ng", ["-w", wav, "Hello, the door of my washing machine broke off."]);
    execFileSync("opusenc", ["--quiet", wav, ogg]);
    graph.media.set("voice1", { type: "audio/ogg", bytes: readFileSync(ogg) });
    const contacts = [{ profile: { name: "Rosa" }, wa_id: from }];
    await postMeta(metaDelivery({ contacts, messages: [
      { from, id: "wamid.r1", timestamp: now(), type: "text", text: { body: "Hi, my washing machine door broke" } },
      { from, id: "wamid.r2", timestamp: now(), type: "image", image: { id: "img1", mime_type: "image/jpeg", caption: "The hinge" } },
      { from, id: "wamid.r3", timestamp: now(), type: "audio", audio: { id: "voice1", mime_type: "audio/ogg; codecs=opus", voice: true } },
    ] }));
    const item = a.locator(".item", { hasText: "Rosa" });
    await item.click({ timeout: T });
    await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
    const img = a.locator(".msg.in img.thumb");
    await img.waitFor({ timeout: T });
    const width = await until("the picture to load", () => img.evaluate((i) => i.complete && i.naturalWidth));
    check(width === 320, "the customer's photo shows as a thumbnail, downloaded and served (" + width + " px wide)");
    check(await a.locator(".msg.in", { hasText: "The hinge" }).count() === 1, "the photo's caption is its text");
    const player = a.locator(".msg.in audio");
    await player.waitFor({ timeout: T });
    await player.evaluate((p) => { p.muted = true; return p.play(); });
    const played = await until("the voice note to play", () => player.evaluate((p) => p.currentTime > 0.3 && p.currentTime));
    check(played > 0.3, "the voice note plays in place (" + played.toFixed(1) + " s played)");
    await until("the read receipt", () => graph.sent.some((b) => b.status === "read" && b.message_id === "wamid.r3" && !b.typing_indicator));
    check(true, "opening the conversation marked the customer's latest message read on WhatsApp");

    // The agent types and sends: the customer sees typing, then the message's ticks move on.
    await a.getByLabel("Reply", { exact: true }).fill("A technician can come on Friday.");
    await until("the typing indicator", () => graph.sent.some((b) => b.typing_indicator && b.typing_indicator.type === "text"));
    check(true, "typing in the inbox showed WhatsApp's typing indicator");
    await a.getByRole("button", { name: "Send" }).click();
    const first = a.locator(".msg.out", { hasText: "A technician can come on Friday." });
    await first.locator(".st.sent").waitFor({ timeout: T });
    check((await first.locator(".st").textContent()).startsWith("✓ sent"), "a sent message shows one tick");
    const status = (id, s, extra) => postMeta(metaDelivery({ statuses: [{ id, status: s, timestamp: now(), recipient_id: from, ...extra }] }));
    await status("wamid.out1", "delivered");
    await first.locator(".st.delivered").waitFor({ timeout: T });
    await status("wamid.out1", "read");
    await first.locator(".st.read").waitFor({ timeout: T });
    check(await first.locator(".st").evaluate((n) => getComputedStyle(n).color) === "rgb(26, 115, 232)", "read shows two blue ticks");

    await a.getByLabel("Reply", { exact: true }).fill("Which day suits you?");
    await a.getByRole("button", { name: "Send" }).click();
    const second = a.locator(".msg.out", { hasText: "Which day suits you?" });
    await second.locator(".st.sent").waitFor({ timeout: T });
    await status("wamid.out2", "failed", { errors: [{ code: 131047, title: "Re-engagement message",
      message: "Re-engagement message", error_data: { details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number." } }] });
    const why = second.locator(".failure");
    await why.getByText("only an approved template").waitFor({ timeout: T });
    check(true, "the 131047 failure is explained");
    await a.screenshot({ path: path.join(ARTIFACTS, "inbox-rich-live.png") });

    // After a reload the files, ticks and the explanation are all still there.
    await a.reload();
    await a.locator("#app").waitFor();
    await a.locator(".item", { hasText: "Rosa" }).click({ timeout: T });
    const again = a.locator(".msg.out", { hasText: "Which day suits you?" });
    await again.locator(".failure").getByText("only an approved template").waitFor({ timeout: T });
    check(await again.locator(".failure").getByRole("button", { name: "Send a template" }).count() === 1, "after a reload the failure still explains itself and offers a template");
    check(await a.locator(".msg.out", { hasText: "A technician can come on Friday." }).locator(".st.read").count() === 1, "after a reload the first reply still shows read");
    await a.locator(".msg.in img.thumb").waitFor({ timeout: T });
    await a.locator(".msg.in audio").waitFor({ timeout: T });
    check(true, "after a reload the photo and the voice note are there");
    await a.screenshot({ path: path.join(ARTIFACTS, "inbox-rich-reloaded.png") });
  } finally {
    // The gateway keeps its connections to the API open: close them too, or node waits.
    graph.server.close();
    graph.server.closeAllConnections();
  }
}

// The agent's workspace: an offer card answered by keyboard before its countdown ends, unread
// badges and previews updated live, "/" canned answers, search by message text, the
// waiting-for-customer view receiving a fresh deflection, and the shortcut sheet.
async function workspace(browser) {
  const a = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  await login(a, "available");
  await a.evaluate(() => Deflect.api("POST", "/canned-answers", { title: "Invoice copy", body: "Hello {{customer_name}}, your invoice copy is on its way." }));
  // Two customers write; each offer shows as a card with a countdown and is taken with "a".
  for (const [who, from, text] of [["Wanda", "31611110001", "I need a copy of my invoice"], ["Xavier", "31611110002", "Where is my parcel?"]]) {
    await postMeta(metaWebhook(from, text, "wamid.ws-" + who, who));
    const card = a.locator(".offer", { hasText: who });
    await card.waitFor({ timeout: T });
    const left = await card.locator(".countdown").textContent();
    const [m, sec] = left.split(":").map(Number);
    check(/^\d+:\d\d$/.test(left) && m * 60 + sec > 0, "the offer card counts down (" + left + " left)");
    check((await card.locator(".preview").textContent()).includes(text), "the offer card shows the customer's words");
    await a.locator("#count").click();
    await a.keyboard.press("a");
    await card.waitFor({ state: "detached", timeout: T });
    // The accepted conversation opens (the one open before may be assigned too: wait for this one).
    await a.locator("#conv-title", { hasText: new RegExp("^" + who) }).waitFor({ timeout: T });
    await a.locator("#conv-actions .badge.assigned").waitFor({ timeout: T });
    check(true, "key A accepted " + who + "'s offer before it ran out and opened it");
  }
  await a.screenshot({ path: path.join(ARTIFACTS, "workspace-1400.png") });
  // Xavier is open; Wanda writes again: her row shows the new words and one unread message.
  await postMeta(metaWebhook("31611110001", "Also, the VAT number is wrong", "wamid.ws-Wanda-2", "Wanda"));
  const wanda = a.locator(".item", { hasText: "Wanda" });
  await wanda.locator(".preview", { hasText: "Also, the VAT number is wrong" }).waitFor({ timeout: T });
  await wanda.locator(".unread-count", { hasText: "1" }).waitFor({ timeout: T });
  check(true, "Wanda's row shows her new message and an unread badge, live");
  await a.waitForFunction(() => document.title.startsWith("(1)"), null, { timeout: T });
  check(true, "the tab title counts the conversation with unread messages");
  await a.locator("nav [data-count=mine].unread", { hasText: /^2$/ }).waitFor({ timeout: T });
  check(true, "the view's badge counts two conversations, some unread");
  await a.screenshot({ path: path.join(ARTIFACTS, "workspace-unread-1400.png") });
  // "j"/"k" move through the list; opening Wanda clears her badge.
  await wanda.click();
  await a.locator(".msg", { hasText: "VAT number" }).waitFor({ timeout: T });
  await wanda.locator(".unread-count").waitFor({ state: "detached", timeout: T });
  check(true, "opening the conversation clears its unread badge");
  await a.waitForFunction(() => document.title === "deflect inbox", null, { timeout: T });
  // "/" in the reply box offers canned answers; Enter inserts one, filled in for Wanda.
  await a.getByLabel("Reply", { exact: true }).click();
  await a.getByLabel("Reply", { exact: true }).pressSequentially("/inv");
  await a.locator("#canned-suggest [role=option]", { hasText: "Invoice copy" }).waitFor({ timeout: T });
  await a.getByLabel("Reply", { exact: true }).press("Enter");
  await a.waitForFunction(() => document.querySelector("#reply").value === "Hello Wanda, your invoice copy is on its way.", null, { timeout: T });
  check(true, "/inv + Enter inserted the canned answer with the customer's name");
  await a.screenshot({ path: path.join(ARTIFACTS, "workspace-canned-1400.png") });
  await a.getByLabel("Reply", { exact: true }).press("Control+Enter");
  const sent = a.locator(".msg.out", { hasText: "your invoice copy is on its way" });
  await sent.waitFor({ timeout: T });
  // The scenario's Graph API does not answer: the failure says so, and only so.
  await sent.locator(".failure", { hasText: "trying again." }).waitFor({ timeout: T });
  check(!(await sent.locator(".failure").textContent()).includes("null"), "a send failure's explanation ends with its text (no stray \"null\")");
  // Search finds a conversation by a message's text.
  await a.locator("#messages").click();
  await a.keyboard.press("/");
  check(await a.evaluate(() => document.activeElement.id) === "search-q", "\"/\" focuses the search box");
  await a.keyboard.type("parcel");
  await a.keyboard.press("Enter");
  await a.locator("#count", { hasText: "Results for “parcel”: 1 conversation" }).waitFor({ timeout: T });
  check(await a.locator(".item", { hasText: "Xavier" }).count() === 1 && await a.locator(".item", { hasText: "Wanda" }).count() === 0, "searching a message's words finds Xavier's conversation only");
  await a.getByRole("button", { name: "Clear" }).click();
  await a.locator(".item", { hasText: "Wanda" }).waitFor({ timeout: T });
  // A fresh deflection appears in "Waiting for customer" while the view is open.
  await a.getByRole("button", { name: "Waiting for customer" }).click();
  await a.locator("#count", { hasText: /conversations/ }).waitFor({ timeout: T });
  await a.evaluate(() => Deflect.api("POST", "/deflections/whatsapp", { name: "Paula", phone: "+31611110003", queue: "support" }));
  const paula = a.locator(".item", { hasText: "Paula" });
  await paula.waitFor({ timeout: T });
  check((await paula.textContent()).includes("Waiting for the customer"), "the fresh deflection shows in Waiting for customer, live");
  await a.locator("nav [data-count=waiting]", { hasText: "1" }).waitFor({ timeout: T });
  await a.screenshot({ path: path.join(ARTIFACTS, "workspace-waiting-1400.png") });
  // The shortcut sheet.
  await a.locator("#list").focus();
  await a.keyboard.press("?");
  await a.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor({ timeout: T });
  check(await a.getByRole("dialog").locator("kbd").count() >= 10, "? shows the shortcut sheet");
  await a.screenshot({ path: path.join(ARTIFACTS, "workspace-keys-1400.png") });
  await a.keyboard.press("Escape");
  // The board: the agent's presence with its time, and their name opens their conversations.
  await a.getByRole("button", { name: "Board" }).click();
  const me = a.locator("#board tr", { hasText: "admin" }).first();
  await me.locator("td", { hasText: /^available · \d+ (s|min)/ }).waitFor({ timeout: T });
  check(true, "the board shows the agent available and for how long");
  await a.screenshot({ path: path.join(ARTIFACTS, "board-1400.png") });
  await me.getByRole("button").click();
  await a.locator("#count", { hasText: /^2 conversations$/ }).waitFor({ timeout: T });
  check(await a.locator(".item", { hasText: "Wanda" }).count() === 1 && await a.locator(".item", { hasText: "Xavier" }).count() === 1, "the agent's name on the board opens their conversations");
  // On a phone: the list, then the conversation on a screen of its own, the reply box at the
  // bottom, and back.
  const p = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  await login(p, null);
  const row = p.locator(".item", { hasText: "Wanda" });
  await row.waitFor({ timeout: T });
  check(await p.locator("#main").isHidden(), "on a phone the list is a screen of its own");
  await p.screenshot({ path: path.join(ARTIFACTS, "workspace-390.png") });
  await row.click();
  await p.locator(".msg", { hasText: "VAT number" }).waitFor({ timeout: T });
  check(await p.locator("#side").isHidden(), "on a phone the conversation takes the whole screen");
  const reply = await p.getByLabel("Reply", { exact: true }).boundingBox();
  check(reply && reply.y > 844 / 2 && reply.y + reply.height <= 844, "the reply box is on screen, at the bottom (" + JSON.stringify(reply) + ")");
  await p.screenshot({ path: path.join(ARTIFACTS, "workspace-conversation-390.png") });
  await p.getByRole("button", { name: "Back to the conversations" }).click();
  await row.waitFor({ timeout: T });
  check(await p.locator("#main").isHidden(), "back returns to the list");
  // Every view at both sizes, kept as artefacts.
  const ready = { mine: "#count", queue: "#count", waiting: "#count", all: "#count", board: "#board table",
    reports: "#reports table", admin: "#admin fieldset" };
  for (const [page, width] of [[a, 1400], [p, 390]]) {
    for (const [view, shown] of Object.entries(ready)) {
      await page.locator(`nav [data-view="${view}"]`).click();
      await page.locator(shown).first().waitFor({ timeout: T });
      await page.screenshot({ path: path.join(ARTIFACTS, `view-${view}-${width}.png`) });
    }
  }
  check(true, "every view is drawn at 1400x900 and 390x844");
}

// The contact panel: a returning customer's earlier conversation (with the label put on it
// from the panel) is listed beside the new one and opens in place; labels come off again.
async function contact(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const a = await ctx.newPage();
  await login(a, "available");
  const call = (method, p, body) => a.evaluate(async ([method, p, body]) => {
    const s = await (await fetch("/api/v1/session")).json();
    const r = await fetch("/api/v1" + p, { method, headers: { "content-type": "application/json", "x-csrf-token": s.csrf },
      body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, p, body || null]);
  const number = "31622223333";
  await postMeta(metaWebhook(number, "My parcel is late", "wamid.contact-1-" + Date.now()));
  const first = a.locator(".item", { hasText: "Vera" });
  await first.click({ timeout: T });
  const id1 = Number(await first.getAttribute("data-id"));
  await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
  const panel = a.getByRole("complementary", { name: "Contact" });
  await panel.locator("dd", { hasText: "+" + number }).waitFor({ timeout: T });
  check(true, "the panel shows the customer's WhatsApp number");
  await panel.getByLabel("New label").fill("  Parcel ");
  await panel.getByRole("button", { name: "Add" }).click();
  await panel.locator(".labels li", { hasText: "parcel" }).waitFor({ timeout: T });
  check(true, "a label added in the panel shows at once, in one spelling");
  const ref1 = (await call("GET", "/conversations/" + id1)).body.conversation.reference;
  check((await call("POST", "/conversations/" + id1 + "/close", {})).status === 200, "the first conversation is closed");
  // They write again: the new conversation's panel lists the first, with its label.
  await postMeta(metaWebhook(number, "Still waiting", "wamid.contact-2-" + Date.now()));
  const second = a.locator(`.item:not([data-id="${id1}"])`, { hasText: "Vera" });
  await second.click({ timeout: T });
  await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
  const earlier = panel.locator(".previous li", { hasText: ref1 });
  await earlier.waitFor({ timeout: T });
  check((await earlier.innerText()).includes("parcel"), "the earlier conversation is listed with its label");
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-contact.png") });
  await earlier.getByRole("button").click();
  await a.locator("#conv-title", { hasText: ref1 }).waitFor({ timeout: T });
  check(true, "the earlier conversation opens from the panel");
  await panel.getByRole("button", { name: "Remove label parcel" }).click();
  await panel.locator(".labels li", { hasText: "No labels." }).waitFor({ timeout: T });
  const left = (await call("GET", "/labels")).body.labels;
  check(left.length === 0, "the label is gone: " + JSON.stringify(left));
  // A call deflected before the scenario (tests/web.rs dials it): its conversation waits for
  // the customer, and the panel shows the call — how the number was given, the digits, the
  // time and the path through the IVR.
  await a.getByRole("button", { name: /^Waiting for customer/ }).click();
  await a.locator(".item", { hasText: "623456789" }).click({ timeout: T });
  const callPart = panel.locator("section.contact-part", { has: a.locator("h3", { hasText: /^Call$/ }) });
  await callPart.locator("dd", { hasText: "typed on the keypad" }).waitFor({ timeout: T });
  const facts = await callPart.locator("dt, dd").allInnerTexts();
  check(facts.some((f) => f.startsWith("0623456789")) && facts.includes("Time in IVR") && facts.includes("+31201110000"), "the call's digits, caller and time in IVR are shown: " + JSON.stringify(facts));
  const route = facts[facts.indexOf("Path") + 1] || "";
  check(facts.includes("Path") && /→ confirm \(confirmed\) → deflect$/.test(route), "the call's path through the IVR is shown: " + route);
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-contact-call.png") });
}

// The report page for a seeded set: two customers write from the sandbox phone; the admin
// takes and answers one and closes it, the other is closed unanswered (abandoned). The
// queue table's numbers equal SQL run on the gateway's SQLite file (DATABASE), the agent row
// counts the closed conversation, and both charts load as SVG images with bars.
async function reports(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const a = await ctx.newPage();
  await login(a, "available");
  const api = (method, p, body) => a.evaluate(async ([method, p, body]) => {
    const s = await (await fetch("/api/v1/session")).json();
    const r = await fetch("/api/v1" + p, { method, headers: { "content-type": "application/json", "x-csrf-token": s.csrf },
      body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, p, body]);
  const write = async (number, text) => (await api("POST", "/sandbox/sandbox/" + encodeURIComponent(number) + "/messages", { text })).body.conversations[0];
  const one = await write("+31611110001", "Where is my order?");
  const two = await write("+31611110002", "Hello?");
  const accepted = await api("POST", "/conversations/" + one + "/accept");
  check(accepted.status === 200 || accepted.status === 409, "the admin takes the first (" + accepted.status + ")");
  if (accepted.status === 409) await api("POST", "/conversations/" + one + "/claim");
  await api("POST", "/conversations/" + one + "/messages", { text: "It ships today." });
  const closing = { disposition: null };
  check((await api("POST", "/conversations/" + one + "/close", closing)).status === 200, "the first is closed answered");
  check((await api("POST", "/conversations/" + two + "/close", closing)).status === 200, "the second is closed unanswered");

  await a.getByRole("button", { name: "Reports" }).click();
  const queues = a.locator("#reports table.report").first();
  await queues.waitFor({ timeout: T });
  const sql = (q) => execFileSync("sqlite3", [env.DATABASE, q]).toString().trim();
  const row = await queues.locator("tr", { has: a.locator("th", { hasText: "support" }) }).locator("td").allTextContents();
  const closed = sql("SELECT COUNT(*) FROM conversations WHERE queue = 'support' AND closed_at IS NOT NULL");
  const handled = sql("SELECT COUNT(*) FROM conversations WHERE queue = 'support' AND closed_at IS NOT NULL AND agent_id IS NOT NULL");
  const abandoned = sql("SELECT COUNT(*) FROM conversations c WHERE queue = 'support' AND closed_at IS NOT NULL " +
    "AND EXISTS (SELECT 1 FROM assignments a WHERE a.conversation_id = c.id AND a.action = 'queued') " +
    "AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.sender = 'agent' AND m.internal = 0 AND m.direction = 'out')");
  check(row[1] === handled && row[2] === closed && row[3] === abandoned,
    "the support row says handled " + row[1] + ", closed " + row[2] + ", abandoned " + row[3] + " as SQL does (" + [handled, closed, abandoned] + ")");
  check(closed === "2" && handled === "1" && abandoned === "1", "the seeded set: two closed, one handled, one abandoned");
  const agents = a.locator("#reports table.report").nth(1);
  check((await agents.locator("tr").count()) === 3, "one agent row and the total");
  for (const chart of ["volume", "wait"]) {
    const img = a.locator("#reports img[src*='/charts/" + chart + ".svg']");
    const width = await until(chart + " chart", () => img.evaluate((i) => i.complete && i.naturalWidth));
    check(width > 0, "the " + chart + " chart is drawn (" + width + " px)");
  }
  const svg = await a.evaluate(async (src) => (await fetch(src)).text(), await a.locator("#reports img").first().getAttribute("src"));
  check(svg.includes("<rect class=\"bar\"") && svg.includes("role=\"img\""), "the volume chart has bars and an accessible name");
  const csv = await a.locator("#reports a", { hasText: "CSV" }).first().getAttribute("href");
  check(csv.startsWith("/api/v1/reports/queues.csv?from="), "the queue table links its CSV");
  await a.screenshot({ path: path.join(ARTIFACTS, "reports.png"), fullPage: true });
  await a.setViewportSize({ width: 390, height: 844 });
  await a.screenshot({ path: path.join(ARTIFACTS, "reports-narrow.png"), fullPage: true });
}

// Languages: a Dutch browser gets the inbox and the widget in Dutch; an agent's own choice of
// language (German) wins over the browser's and stays after a reload.
async function dutch(browser) {
  const actx = await browser.newContext({ locale: "nl-NL", viewport: { width: 1400, height: 900 } });
  const a = await actx.newPage();
  await a.goto(GATEWAY + "/");
  await a.getByRole("button", { name: "Inloggen" }).waitFor({ timeout: T });
  check(await a.evaluate(() => document.documentElement.lang) === "nl", "the login page speaks Dutch to a Dutch browser");
  await a.getByLabel("Gebruikersnaam").fill(env.USERNAME);
  await a.getByLabel("Wachtwoord").fill(env.PASSWORD);
  await a.getByRole("button", { name: "Inloggen" }).click();
  await a.getByRole("button", { name: "Mijn gesprekken" }).waitFor({ timeout: T });
  await a.locator("#count", { hasText: "0 gesprekken" }).waitFor({ timeout: T });
  check(true, "the inbox's views and counts are in Dutch");
  await a.locator("#presence").selectOption("available");
  // A Dutch visitor: the widget's window and its pre-chat form in Dutch.
  const vctx = await browser.newContext({ locale: "nl-NL", viewport: { width: 1100, height: 760 } });
  const v = await vctx.newPage();
  await v.goto(`http://127.0.0.1:${env.PAGE_PORT}/`);
  await v.getByRole("button", { name: "Chat with us" }).click();
  await v.getByRole("button", { name: "Chat starten" }).waitFor({ timeout: T });
  await v.getByLabel("Je naam").fill("Noor");
  await v.getByRole("button", { name: "Chat starten" }).click();
  await v.getByLabel("Je bericht").fill("Hallo, ik heb een vraag");
  await v.getByLabel("Je bericht").press("Enter");
  await v.getByRole("dialog").screenshot({ path: path.join(ARTIFACTS, "widget-nl.png") });
  check(await v.locator("[role=dialog]").getAttribute("lang") === "nl", "the widget speaks Dutch to a Dutch visitor");
  // The offer reaches the Dutch inbox, its card in Dutch.
  const card = a.locator(".offer", { hasText: "Noor" });
  await card.getByRole("button", { name: "Aannemen (A)" }).waitFor({ timeout: T });
  check(true, "the offer card is in Dutch");
  await a.screenshot({ path: path.join(ARTIFACTS, "inbox-nl-1400.png") });
  // The agent chooses German: it wins over the browser's Dutch, also after a reload.
  const saved = a.waitForResponse((r) => r.url().endsWith("/api/v1/me/preferences") && r.ok());
  await a.locator("#language").selectOption("de");
  await saved;
  await a.getByRole("button", { name: "Meine Unterhaltungen" }).waitFor({ timeout: T });
  await a.reload();
  await a.getByRole("button", { name: "Meine Unterhaltungen" }).waitFor({ timeout: T });
  check(await a.evaluate(() => document.documentElement.lang) === "de", "the agent's own language (German) wins over the browser's, after a reload too");
  await a.locator("#language").selectOption("");
  await a.getByRole("button", { name: "Mijn gesprekken" }).waitFor({ timeout: T });
  check(true, "back to the browser's language");
}

// The SMS fallback's continue link (CONTINUE_URL, from the SMS the test captured): the page
// offers the browser and WhatsApp; "Continue here" opens the widget on the same conversation
// with its history; the visitor's message reaches an agent, whose answer reaches the widget.
async function continued(browser) {
  const vctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const v = await vctx.newPage();
  await v.goto(env.CONTINUE_URL);
  const here = v.getByRole("button", { name: "Continue here" });
  await here.waitFor({ timeout: T });
  const wa = await v.getByRole("link", { name: "Continue on WhatsApp" }).getAttribute("href");
  check(wa === "https://wa.me/" + env.BUSINESS_NUMBER.slice(1), "the page offers the business's WhatsApp chat too (" + wa + ")");
  await v.screenshot({ path: path.join(ARTIFACTS, "continue-page.png") });
  await here.click();
  await v.getByRole("dialog").waitFor({ timeout: T });
  await v.locator(".m", { hasText: "We missed you on WhatsApp" }).waitFor({ timeout: T });
  check(true, "the widget opens on the conversation, its history shown (the SMS)");
  check(await here.isHidden(), "the offer gives way to the chat");
  await say(v, "Hi, I would rather chat here");
  await v.locator(".m.visitor:not(.sending)", { hasText: "Hi, I would rather chat here" }).waitFor({ timeout: T });
  const a = await (await browser.newContext()).newPage();
  await login(a, "available");
  // The caller's conversation (the number they gave by keypad), offered to the agent.
  const item = a.locator(".item", { hasText: "+31623456789" });
  await item.click({ timeout: T });
  await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
  await a.locator(".msg", { hasText: "We missed you on WhatsApp" }).waitFor({ timeout: T });
  check((await a.locator(".item", { hasText: "623456789" }).count()) <= 1, "one conversation for the caller, not two");
  await a.getByLabel("Reply", { exact: true }).fill("Welcome back! How can I help?");
  await a.getByRole("button", { name: "Send" }).click();
  await v.locator(".m.agent", { hasText: "Welcome back! How can I help?" }).waitFor({ timeout: T });
  check(true, "the agent's answer reaches the widget");
  await v.screenshot({ path: path.join(ARTIFACTS, "continue-widget.png") });
  await a.screenshot({ path: path.join(ARTIFACTS, "continue-inbox.png") });
}

// Relay mode on the sandbox account: an API call relays Bob to Zoe's own WhatsApp; Zoe's
// sandbox phone shows the offer and, once she accepts, Bob's messages with his name, and her
// own answer, which reaches Bob's phone; the inbox shows the relayed conversation with both legs.
async function relay(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const a = await ctx.newPage();
  await login(a, null);
  const call = (method, url, body) => a.evaluate(async ([method, url, body]) => {
    const s = await (await fetch("/api/v1/session")).json();
    const r = await fetch(url, { method, headers: { "content-type": "application/json", "x-csrf-token": s.csrf },
      body: body && JSON.stringify(body) });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, url, body]);
  const zoe = "+31611111111", bob = "+31612345678";
  const say = (from, text, payload) => call("POST", "/api/v1/sandbox/sandbox/" + encodeURIComponent(from) + "/messages",
    payload ? { text, button_payload: payload } : { text });
  const started = await call("POST", "/api/v1/deflections/whatsapp",
    { name: "Bob", account: "sandbox", queue: "support", metadata: { order: 1234 }, agents: [{ name: "Zoe", number: zoe }] });
  check(started.status === 201, "the API starts a relay (" + started.status + ")");
  const ref = started.body.reference;
  check((await say(bob, started.body.text)).status === 201, "Bob sends the prefilled message");
  const phone = await ctx.newPage();
  await phone.goto(GATEWAY + "/sandbox?number=" + encodeURIComponent(zoe));
  const screen = phone.getByRole("log", { name: "Chat with the business" });
  await screen.locator(".bubble.out", { hasText: "Bob wants to chat (" + ref + ")" }).waitFor({ timeout: T });
  check(true, "Zoe's phone shows the offer with Bob's name and reference");
  check((await say(zoe, "Accept", "relay:accept:" + ref)).status === 201, "Zoe accepts");
  await screen.locator(".bubble.out", { hasText: "Bob (" + ref + "): Continue my chat" }).waitFor({ timeout: T });
  await say(bob, "Where is my parcel?");
  await screen.locator(".bubble.out", { hasText: "Bob (" + ref + "): Where is my parcel?" }).waitFor({ timeout: T });
  check(true, "Bob's messages reach Zoe's phone with his name and reference");
  await say(zoe, "It ships today.");
  await screen.locator(".bubble.in", { hasText: "It ships today." }).waitFor({ timeout: T });
  check(true, "Zoe's phone shows what she wrote");
  const bobs = await call("GET", "/api/v1/sandbox/sandbox/" + encodeURIComponent(bob) + "/messages");
  check(bobs.body.messages.some((m) => m.body === "It ships today." && m.sender_name === "Zoe"), "Zoe's answer reaches Bob under her name");
  await phone.screenshot({ path: path.join(ARTIFACTS, "relay-agent-phone.png") });
  await a.getByRole("button", { name: "All conversations" }).click();
  await a.locator(".item", { hasText: "Bob" }).click({ timeout: T });
  await a.locator(".msg.internal", { hasText: "It ships today." }).waitFor({ timeout: T });
  const head = await a.locator("#conv-actions").innerText();
  check(head.includes("relayed to an agent's WhatsApp"), "the inbox shows the conversation as relayed");
  check((await a.locator(".msg .meta", { hasText: "Zoe on their WhatsApp (relay)" }).count()) >= 2, "the agent's leg is labelled as hers");
  await a.screenshot({ path: path.join(ARTIFACTS, "relay-inbox.png") });
}

// Vera starts a chat with her number (and `text`, if any) and presses "Call us".
async function visitorCalls(browser, text) {
  const v = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await v.goto(`http://127.0.0.1:${env.PAGE_PORT}/`);
  await v.getByRole("button", { name: "Chat with us" }).click();
  await v.getByLabel("Your name").fill("Vera");
  await v.getByLabel("Phone number, with country code (optional)").fill("+31612345678");
  await v.getByRole("button", { name: "Start chat" }).click();
  await v.getByLabel("Your message").waitFor();
  if (text) await say(v, text);
  await v.getByRole("button", { name: "Call us" }).click();
  return v;
}

// A visitor calls from the widget: the browser's WebRTC call reaches the IVR, whose prompts
// the visitor hears (the energy of the audio received), and the keypad's digits (RFC 4733 by
// RTCDTMFSender) take the number from the pre-chat form and confirm it: the IVR deflects the
// call to that number and hangs up, and the widget says the call ended.
async function call(browser) {
  const v = await visitorCalls(browser);
  const bar = v.getByRole("group", { name: "Call", exact: true });
  await bar.getByRole("status").filter({ hasText: "On call" }).waitFor({ timeout: T });
  check(true, "the call connects (ICE and DTLS with the gateway) and its timer runs");
  await meter(v, "widget");
  await v.evaluate(() => window.heard());
  check(true, "the visitor hears the IVR's welcome");
  await v.evaluate(() => window.quietAfterSound(1200));
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-call.png") });
  // The site's 5 s without an agent are over, but the offer waits for the end of the call.
  check(await v.locator(".wa").isHidden(), "no WhatsApp offer interrupts the call");
  await bar.getByRole("button", { name: "1", exact: true }).click();
  // The number read back, then the question whether it is right.
  await v.evaluate(() => window.quietAfterSound(1200));
  await bar.getByRole("button", { name: "1", exact: true }).click();
  await v.locator(".m.system", { hasText: "Call ended" }).waitFor({ timeout: T });
  check(await bar.isHidden(), "the IVR hangs up and the widget says the call ended");
  check(await v.getByRole("button", { name: "Call us" }).isVisible(), "the visitor may call again");
  await v.locator(".wa svg").waitFor({ timeout: T });
  check(true, "the WhatsApp offer the call held back comes after it");
  await v.screenshot({ path: path.join(ARTIFACTS, "widget-call-ended.png") });
  const a = await (await browser.newContext()).newPage();
  await login(a, null);
  const record = await lastCall(a, "widget:shop");
  check(record.outcome === "deflected" && record.callback_number === "+31612345678" && record.input_method === "caller_number",
    "the call's record: deflected to the visitor's number, confirmed by keypad (" + JSON.stringify(record) + ")");
  check(Number.isInteger(record.conversation_id), "the record names the visitor's conversation");
  await a.getByRole("button", { name: "All conversations" }).click();
  await a.locator(".item", { hasText: "Vera" }).click({ timeout: T });
  const note = a.locator(".msg.internal", { hasText: "Call from the widget (0:" });
  await note.waitFor({ timeout: T });
  check((await note.innerText()).includes("deflected to +31612345678") && (await note.innerText()).includes("Note by IVR"),
    "agents see the call in the visitor's conversation");
  await a.screenshot({ path: path.join(ARTIFACTS, "widget-call-inbox.png") });
}

// Meters the audio `page` receives on the element `which` names (`widget`: the chat window's),
// as `window.heard()` (some sound), `window.quietFor(ms)` (nothing for that long) and
// `window.quietAfterSound(ms)`; each gives up after 20 s.
// The newest call record of `trunk`, as the agent on `page` lists it, once there is one.
function lastCall(page, trunk) {
  return until("the call's record", () => page.evaluate(async (trunk) => {
    const r = await (await fetch("/api/v1/calls?trunk=" + encodeURIComponent(trunk))).json();
    return r.calls && r.calls[0];
  }, trunk));
}

async function meter(page, which) {
  await page.evaluate((which) => {
    const audio = which === "widget"
      ? document.querySelector("#deflect-chat").shadowRoot.querySelector("audio")
      : document.querySelector(which);
    const ctx = new AudioContext();
    const m = ctx.createAnalyser();
    m.fftSize = 1024;
    ctx.createMediaStreamSource(audio.srcObject).connect(m);
    const buf = new Float32Array(m.fftSize);
    const level = () => { m.getFloatTimeDomainData(buf); return Math.sqrt(buf.reduce((s, x) => s + x * x, 0) / buf.length); };
    const watch = (what, done) => new Promise((resolve, reject) => {
      const state = { since: Date.now() };
      const give = setTimeout(() => { clearInterval(timer); reject(new Error("never " + what)); }, 20000);
      const timer = setInterval(() => { if (done(level(), state)) { clearInterval(timer); clearTimeout(give); resolve(); } }, 10);
    });
    window.heard = () => watch("heard", (l) => l > 0.02);
    window.quietFor = (ms) => watch("quiet", (l, s) => {
      if (l > 0.01) s.since = Date.now();
      return Date.now() - s.since > ms;
    });
    // Sound without a break for `ms` (a voice, not a ringing tone's cadence).
    window.loudFor = (ms) => watch("sound for " + ms + " ms", (l, s) => {
      if (l < 0.01) s.since = Date.now();
      return Date.now() - s.since > ms;
    });
    // Quiet for `ms` after some sound (prompts over, the flow listens).
    window.quietAfterSound = (ms) => watch("quiet after sound", (l, s) => {
      if (l > 0.01) { s.sound = true; s.since = Date.now(); }
      return s.sound && Date.now() - s.since > ms;
    });
  }, which);
}

// An agent answers a visitor's widget call in the inbox: the IVR's flow bridges it to the
// queue's agents (`inbox:support`), the available agent's softphone rings, the agent answers,
// and each side hears the other — the sound stops while the other side is muted, so it is
// theirs, not a prompt. The agent hangs up; the visitor's call ends and its record says so.
async function phone(browser) {
  const a = await (await browser.newContext()).newPage();
  await login(a, "available");
  const v = await visitorCalls(browser, "Could someone call me about my order?");
  const bar = v.getByRole("group", { name: "Call", exact: true });
  const panel = a.getByRole("region", { name: "Phone" });
  await panel.getByRole("status").filter({ hasText: "Incoming call" }).waitFor({ timeout: T });
  const who = await panel.locator(".who").innerText();
  check(who.includes("+31612345678") && who.includes("support") && who.includes("widget:shop"),
    "the agent's phone rings with the caller, the queue and the channel: " + who);
  await a.screenshot({ path: path.join(ARTIFACTS, "phone-ringing.png") });
  await panel.getByRole("button", { name: "Answer" }).click();
  await panel.getByRole("status").filter({ hasText: "On call" }).waitFor({ timeout: T });
  await bar.getByRole("status").filter({ hasText: "On call" }).waitFor({ timeout: T });
  check(true, "the agent's call connects (ICE and DTLS with the gateway) and its timer runs");
  check(await panel.getByRole("button", { name: "Keypad" }).isHidden(), "no keypad towards a widget caller, who takes no keys");
  await meter(a, "#phone audio");
  await meter(v, "widget");
  await a.evaluate(() => window.heard());
  check(true, "the agent hears the visitor");
  await v.evaluate(() => window.heard());
  check(true, "the visitor hears the agent");
  // Quiet on `listener`'s side while `mute` is pressed, sound again once released.
  const silenced = async (mute, listener) => {
    await mute.click();
    await listener.evaluate(() => window.quietFor(2000));
    await mute.click();
    await listener.evaluate(() => window.heard());
  };
  await silenced(panel.getByRole("button", { name: "Mute" }), v);
  check(true, "what the visitor hears is the agent's microphone (quiet while muted, back after)");
  await silenced(bar.getByRole("button", { name: "Mute" }), a);
  check(true, "what the agent hears is the visitor's microphone");
  await panel.getByRole("button", { name: "Open conversation" }).click();
  await a.locator(".msg.in", { hasText: "Could someone call me about my order?" }).waitFor({ timeout: T });
  check(true, "the phone opens the caller's conversation");
  await a.screenshot({ path: path.join(ARTIFACTS, "phone-call.png") });
  await panel.getByRole("button", { name: "Hang up" }).click();
  await v.locator(".m.system", { hasText: "Call ended" }).waitFor({ timeout: T });
  check(await bar.isHidden(), "the agent hangs up and the visitor's call ends");
  await panel.getByRole("status").filter({ hasText: "Call ended" }).waitFor({ timeout: T });
  const record = await lastCall(a, "widget:shop");
  check(record.outcome === "transferred" && record.transfer_target === "inbox:support",
    "the call's record: put through to the inbox's agents (" + JSON.stringify(record) + ")");
}

// An agent answers a WhatsApp call in the inbox: the customer writes, then calls — a WebRTC
// peer in the test, speaking a tone, whose offer is CONNECT_OFFER; its `connect` webhook is
// posted once the agent is available; the flow bridges it to the support queue's agents.
// The agent answers and hears the customer; the test's peer hears the agent and says so by
// creating HEARD_FILE; the agent hangs up and the call's record says it was put through.
async function whatsappPhone(browser) {
  const a = await (await browser.newContext()).newPage();
  await login(a, "available");
  const from = "31612345678";
  await postMeta(metaWebhook(from, "Can I call you about my order?", "wamid.call-1"));
  await postMeta({
    object: "whatsapp_business_account",
    entry: [{ id: "WABA", changes: [{ field: "calls", value: {
      messaging_product: "whatsapp",
      metadata: { display_phone_number: env.BUSINESS_NUMBER.slice(1), phone_number_id: env.PHONE_NUMBER_ID },
      contacts: [{ profile: { name: "Vera" }, wa_id: from }],
      calls: [{ id: env.CALL_ID, from, to: env.BUSINESS_NUMBER.slice(1), event: "connect", direction: "USER_INITIATED",
        timestamp: String(Math.floor(Date.now() / 1000)), session: { sdp_type: "offer", sdp: env.CONNECT_OFFER } }],
    } }] }],
  });
  const panel = a.getByRole("region", { name: "Phone" });
  await panel.getByRole("status").filter({ hasText: "Incoming call" }).waitFor({ timeout: T });
  const who = await panel.locator(".who").innerText();
  check(who.includes("+31612345678") && who.includes("whatsapp:main"), "the phone rings with the WhatsApp caller: " + who);
  await panel.getByRole("button", { name: "Answer" }).click();
  await panel.getByRole("status").filter({ hasText: "On call" }).waitFor({ timeout: T });
  await meter(a, "#phone audio");
  await a.evaluate(() => window.heard());
  check(true, "the agent hears the WhatsApp caller");
  await until("the caller hearing the agent", () => existsSync(env.HEARD_FILE));
  check(true, "the WhatsApp caller hears the agent");
  await panel.getByRole("button", { name: "Open conversation" }).click();
  await a.locator(".msg.in", { hasText: "Can I call you about my order?" }).waitFor({ timeout: T });
  check(true, "the phone opens the WhatsApp caller's conversation");
  await a.screenshot({ path: path.join(ARTIFACTS, "phone-whatsapp.png") });
  await panel.getByRole("button", { name: "Hang up" }).click();
  await panel.getByRole("status").filter({ hasText: "Call ended" }).waitFor({ timeout: T });
  const record = await lastCall(a, "whatsapp:main");
  check(record.outcome === "transferred" && record.transfer_target === "inbox:support" && record.caller === "+31612345678",
    "the call's record: the WhatsApp caller put through to the inbox (" + JSON.stringify(record) + ")");
}

// The agent calls a WhatsApp customer: the conversation shows the customer allowed calls
// (their call_permission_reply), the agent presses Call, the panel says "Calling…" and the
// agent hears a ringing tone (1 s on, 4 s off) until the test (as WhatsApp, once told by
// RINGBACK_FILE) answers deflect's connect offer; then the agent hears the customer's
// unbroken tone, the customer hears the agent, and the agent hangs up.
async function whatsappCallOut(browser) {
  const a = await (await browser.newContext()).newPage();
  await login(a, "available");
  const from = "31612345678";
  await postMeta(metaWebhook(from, "Please call me about my order", "wamid.out-1"));
  const reply = metaWebhook(from, "", "wamid.out-2");
  reply.entry[0].changes[0].value.messages[0] = { from, id: "wamid.out-2", timestamp: String(Math.floor(Date.now() / 1000)),
    type: "interactive", interactive: { type: "call_permission_reply", call_permission_reply: {
      response: "accept", is_permanent: false, expiration_timestamp: Math.floor(Date.now() / 1000) + 7 * 86400, response_source: "user_action" } } };
  await postMeta(reply);
  await a.locator(".item", { hasText: "Vera" }).click();
  await a.locator("#conv-actions").getByRole("button", { name: "Accept" }).click();
  await a.locator(".msg.in", { hasText: "Calls allowed until" }).waitFor({ timeout: T });
  check(true, "the conversation shows the customer allowed calls");
  await a.locator("#conv-actions").getByRole("button", { name: "Call", exact: true }).click();
  const panel = a.getByRole("region", { name: "Phone" });
  await panel.getByRole("status").filter({ hasText: "Calling…" }).waitFor({ timeout: T });
  const who = await panel.locator(".who").innerText();
  check(who.includes("+31612345678") && who.includes("whatsapp:main"), "the panel shows whom the agent calls: " + who);
  check(await panel.getByRole("button", { name: "Keypad" }).isHidden(), "no keypad towards WhatsApp");
  await until("the call's audio", () => a.evaluate(() => !!document.querySelector("#phone audio").srcObject));
  await meter(a, "#phone audio");
  await a.evaluate(() => window.heard());
  await a.evaluate(() => window.quietFor(2000));
  check(true, "the agent hears a ringing tone, with its pauses, while the customer's phone rings");
  writeFileSync(env.RINGBACK_FILE, "heard");
  await panel.getByRole("status").filter({ hasText: "On call" }).waitFor({ timeout: T });
  await a.evaluate(() => window.loudFor(1500));
  check(true, "the agent hears the customer (no more ringing)");
  await until("the customer hearing the agent", () => existsSync(env.HEARD_FILE));
  check(true, "the customer hears the agent");
  await a.screenshot({ path: path.join(ARTIFACTS, "phone-call-out.png") });
  const hold = panel.getByRole("button", { name: "Hold" });
  let [r] = await Promise.all([a.waitForResponse((r) => r.url().endsWith("/hold")), hold.click()]);
  check(r.status() === 204 && await hold.getAttribute("aria-pressed") === "true", "the agent holds the customer: " + r.status());
  writeFileSync(env.HELD_FILE, "held");
  await until("the customer hearing the music", () => existsSync(env.MUSIC_FILE));
  check(true, "the held customer hears the gateway's music, not the agent");
  [r] = await Promise.all([a.waitForResponse((r) => r.url().endsWith("/hold")), hold.click()]);
  check(r.status() === 204 && await hold.getAttribute("aria-pressed") === "false", "the agent takes the customer back");
  await panel.getByRole("button", { name: "Hang up" }).click();
  await panel.getByRole("status").filter({ hasText: "Call ended" }).waitFor({ timeout: T });
  await until("the call's end at the gateway", () => a.evaluate(async () =>
    (await (await fetch("/api/v1/phone")).json()).calls.length === 0));
  const record = await lastCall(a, "whatsapp:main");
  check(record.outcome === "agent_call_answered" && record.caller === env.BUSINESS_NUMBER && record.dialled_number === "+31612345678"
    && record.answered_at && record.reason === "the agent hung up", "the call's record: the agent's answered call (" + JSON.stringify(record) + ")");
  await a.locator(".msg", { hasText: "Call to the customer on WhatsApp" }).waitFor({ timeout: T });
  check(true, "the call shows in its conversation");
}

// A phone call from the SIP trunk put through to the inbox: the test dials once the agent's
// page is open (calls ring only for agents with the inbox open); the agent answers and hears
// the caller's tone (G.711 in, Opus out) — which the test's dialler plays only once it heard
// the agent — and hangs up.
async function sipPhone(browser) {
  const a = await (await browser.newContext()).newPage();
  await login(a, null);
  check(await a.getByLabel("Presence").inputValue() === "available", "the agent is available");
  const panel = a.getByRole("region", { name: "Phone" });
  await panel.getByRole("status").filter({ hasText: "Incoming call" }).waitFor({ timeout: T });
  const who = await panel.locator(".who").innerText();
  check(who.includes("+31201110000") && who.includes("support"), "the phone caller's call rings on the open page: " + who);
  await panel.getByRole("button", { name: "Answer" }).click();
  await panel.getByRole("status").filter({ hasText: "On call" }).waitFor({ timeout: T });
  check(await panel.getByRole("button", { name: "Keypad" }).isVisible(), "the keypad is there for a phone caller");
  await meter(a, "#phone audio");
  await a.evaluate(() => window.heard());
  check(true, "the agent hears the phone caller, whose dialler spoke only once it heard the agent");
  // Hold and back: the gateway takes each (the caller hears its music meanwhile).
  const hold = panel.getByRole("button", { name: "Hold" });
  for (const on of ["true", "false"]) {
    const [r] = await Promise.all([a.waitForResponse((r) => r.url().endsWith("/hold")), hold.click()]);
    check(r.status() === 204 && await hold.getAttribute("aria-pressed") === on, "hold " + on + " taken: " + r.status());
    await panel.getByRole("status").filter({ hasText: on === "true" ? "On hold" : "On call" }).waitFor({ timeout: T });
    if (on === "true") await a.screenshot({ path: path.join(ARTIFACTS, "phone-held.png") });
  }
  await panel.getByRole("button", { name: "Hang up" }).click();
  await panel.getByRole("status").filter({ hasText: "Call ended" }).waitFor({ timeout: T });
}

const scenarios = { chat, escalation, sandbox, scale, automations, rich, templates, workspace, contact, reports, dutch, continued, relay, call, phone, whatsappPhone, whatsappCallOut, sipPhone };
const name = process.argv[2];
const server = await shop(Number(env.PAGE_PORT));
const browser = await launch(["call", "phone", "whatsappPhone", "whatsappCallOut", "sipPhone"].includes(name));
const timer = setTimeout(() => { console.error("scenario timed out"); process.exit(2); }, 150000);
try {
  await scenarios[name](browser);
  console.log("all checks passed: " + name);
} catch (e) {
  console.error(e && e.stack || e);
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  await browser.close();
  server.close();
}

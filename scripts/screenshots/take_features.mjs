// Screenshots of the newer screens for the Apps pages, taken from a demo server with the demo
// scenario loaded (scripts/demo_data.py; `make demo` serves one on http://localhost:8069):
//   - a customer's cancellation request on the portal (portal_demo) and in the back office, then
//     the cancelled order in the customer's Your Orders, with what became of the money;
//   - the cancellation dialog's refund through the payment provider ("paid online (demo provider)");
//   - a background batch with its progress bar (the twelve "promotion cancelled" orders);
//   - the purchase dialog on the demo vendor's paid purchase order.
// The portal request (approved and cancelled) and the batch are confirmed: run it on a fresh demo
// database (it cancels the ready portal order and the twelve orders).
// Usage: npm install && [SERIES=19.0] node take_features.mjs [URL]. Needs Debian's chromium.
// SERIES (default 18.0) is the Odoo series the server runs: it picks the addons' folders the shots
// go to (the repository root for 18.0, 19.0/ for 19.0), e.g.
// SERIES=19.0 node take_features.mjs http://localhost:8072 for a 19.0 demo served on port 8072.
import { chromium } from "playwright-core";

const base = process.argv[2] || "http://localhost:8069";
const series = process.env.SERIES || "18.0";
// The 18.0 addons are at the repository root, the other series' in a folder named after them.
const seriesRoots = { "18.0": "../../", "19.0": "../../19.0/" };
if (!seriesRoots[series]) {
    throw new Error(`Unknown SERIES ${series}: expected one of ${Object.keys(seriesRoots).join(", ")}.`);
}
const sales = new URL(`${seriesRoots[series]}order_cancel_reconciled/static/description/`, import.meta.url).pathname;
const purchase = new URL(`${seriesRoots[series]}purchase_order_cancel_reconciled/static/description/`, import.meta.url)
    .pathname;
const viewport = { width: 1280, height: 800 };

const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});

async function login(user, password) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${base}/web/login`);
    await page.fill("input[name=login]", user);
    await page.fill("input[name=password]", password);
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/web/login")), page.click("button[type=submit]")]);
    return page;
}

// Through the menus, as a user gets there: the apps menu, an app, a section, an entry.
// Waits for the view titled `title` (the last breadcrumb) to replace the previous one.
async function menu(page, app, section, entry, title) {
    await page.click(".o_navbar_apps_menu button");
    await page.click(`.o_app[data-menu-xmlid='${app}']`);
    await page.click(`.o_menu_sections [data-menu-xmlid='${section}']`);
    await page.click(`.o-dropdown-item[data-menu-xmlid='${entry}']`);
    await page.waitForFunction(
        (t) => document.querySelector(".o_control_panel .o_breadcrumb .active")?.textContent.trim() === t,
        title,
    );
    await page.waitForSelector(".o_list_view .o_data_row");
}

// Searches the list and waits until it shows the expected number of records. Waits for the
// suggestions before Enter picks the first one: Odoo 19 renders them a moment after the typing,
// and an Enter pressed before reloads the list unfiltered.
async function search(page, text, count) {
    await page.fill(".o_searchview_input", text);
    await page.locator(".o_searchview_autocomplete", { hasText: text }).waitFor();
    await page.keyboard.press("Enter");
    await page.waitForFunction((n) => document.querySelectorAll(".o_list_view .o_data_row").length === n, count);
}

// Lets the last requests and animations finish before a screenshot (the web client keeps a
// connection open to the bus, so the network never goes idle).
async function settle(page) {
    await page.waitForTimeout(1000);
}

// (a) The customer's side: Your Orders, the paid order ready for a request (the one with the
// Request Cancellation button), the request dialog with what the company's option promises.
let portal = await login("portal_demo", "portal_demo");
await portal.goto(`${base}/my/orders`);
const orderLinks = await portal.locator("tbody a[href*='/my/orders/']").evaluateAll((links) => links.map((a) => a.href));
let requestedUrl = null;
for (const url of orderLinks) {
    await portal.goto(url);
    if (await portal.locator(".o_cancel_request_button").count()) {
        requestedUrl = url;
        break;
    }
}
if (!requestedUrl) {
    throw new Error("No portal order is ready for a request: run this on a fresh demo database.");
}
await portal.click(".o_cancel_request_button");
await portal.waitForSelector("#modal_cancel_request.show");
await portal.fill("#cancel_request_comment", "Ordered twice by mistake, sorry.");
await settle(portal);
await portal.screenshot({ path: `${sales}/screenshot_portal_request.png`, clip: { x: 0, y: 0, width: 1280, height: 660 } });
await portal.click(".o_cancel_request_submit");
await portal.waitForSelector(".o_cancel_request_state");
await portal.context().close();

const page = await login("admin", "admin");

// (a) The back office: Sales > Orders > Cancellation Requests, the customer's request; approved,
// it opens the dialog with the customer's reason, and the order is cancelled.
await menu(page, "sale.sale_menu_root", "sale.sale_order_menu", "order_cancel_reconciled.sale_order_cancel_reconciled_request_menu", "Cancellation Requests");
await page.click(".o_data_row td[name=order_id]");
await page.waitForSelector(".o_form_view button[name=action_approve]");
await settle(page);
await page.screenshot({ path: `${sales}/screenshot_request_backend.png` });
await page.click(".o_form_view button[name=action_approve]");
await page.waitForSelector(".modal .o_cancel_reconciled_preview li");
await page.click(".modal button[name=action_confirm]");
await page.locator(".modal .modal-footer button.btn-primary:visible", { hasText: "Cancel the orders" }).click();
await page.waitForSelector(".o_form_view .o_field_widget[name=name]:has-text('Cancellation of')");

// (e) The customer's side again: the cancelled order stays in Your Orders, marked cancelled, and
// its page says what became of the money.
portal = await login("portal_demo", "portal_demo");
await portal.goto(`${base}/my/orders`);
await portal.waitForSelector("tbody .o_cancel_reconciled_order_cancelled");
await settle(portal);
await portal.screenshot({ path: `${sales}/screenshot_portal_orders.png`, clip: { x: 0, y: 0, width: 1280, height: 500 } });
await portal.goto(requestedUrl);
await portal.waitForSelector(".o_cancel_reconciled_summary");
await settle(portal);
await portal.screenshot({ path: `${sales}/screenshot_portal_cancelled.png`, clip: { x: 0, y: 0, width: 1280, height: 700 } });
await portal.context().close();

// (c) The order paid online: "Refund the customer" goes back through the provider.
await menu(page, "sale.sale_menu_root", "sale.sale_order_menu", "sale.menu_sale_order", "Sales Orders");
await search(page, "paid online (demo provider)", 1);
await page.click(".o_data_row td[name=name]");
await page.click("button[name=action_cancel_reconciled]");
await page.waitForSelector(".modal .o_cancel_reconciled_preview li");
await page.click(".modal .o_field_widget[name=payment_action] input[data-value=refund]");
await page.waitForSelector(".modal .o_cancel_reconciled_preview:has-text('online through Demo')");
await settle(page);
await page.screenshot({ path: `${sales}/screenshot_refund_online.png` });
await page.click(".modal button[special=cancel]");

// (b) The twelve orders of the cancelled promotion, cancelled as a background batch.
await menu(page, "sale.sale_menu_root", "sale.sale_order_menu", "sale.menu_sale_order", "Sales Orders");
await search(page, "promotion cancelled", 12);
await page.click(".o_list_view thead .o_list_record_selector input");
await page.locator(".o_control_panel button.dropdown-toggle", { hasText: "Actions" }).click();
await page.locator(".o-dropdown-item", { hasText: "Cancel Reconciled Orders" }).click();
await page.waitForSelector(".modal .o_preview_background");
// The dialog asks why: the first reason offered.
await page.click(".modal .o_field_widget[name=reason_id] input");
await page.click(".modal .o_field_widget[name=reason_id] .o-autocomplete--dropdown-item >> nth=0");
await page.waitForTimeout(500);
await page.click(".modal button[name=action_confirm]");
await page.locator(".modal .modal-footer button.btn-primary:visible", { hasText: "Cancel the orders" }).click();
await page.waitForSelector(".o_form_view .o_cancel_batch_progress");
// The batch opens in place of the list. Should the confirmation stay on top of it, reload the
// page (it shows the batch) as a user would.
try {
    await page.waitForSelector(".modal", { state: "detached", timeout: 3000 });
} catch {
    console.log("The confirmation stayed open over the batch: page reloaded");
    await page.reload();
    await page.waitForSelector(".o_form_view .o_cancel_batch_progress");
}
// While it runs, a few orders done, if the scheduled action leaves time for it; else once it is
// finished.
let shot = false;
for (let i = 0; i < 240 && !shot; i++) {
    const state = await page.locator(".o_form_view .o_statusbar_status button.o_arrow_button_current").innerText();
    const label = await page.locator(".o_form_view .o_cancel_batch_progress").innerText();
    const [, finished, total] = label.match(/(\d+) \/ (\d+)/) || [];
    if (/running/i.test(state) && Number(finished) >= 3 && Number(finished) < Number(total)) {
        await page.screenshot({ path: `${sales}/screenshot_batch.png` });
        shot = true;
    } else if (/done/i.test(state)) {
        await settle(page);
        await page.screenshot({ path: `${sales}/screenshot_batch.png` });
        shot = true;
    }
    await page.waitForTimeout(200);
}
console.log(shot ? "Batch captured" : "Batch not captured");

// (d) The purchase side: the demo vendor's received, billed and paid purchase order.
await menu(page, "purchase.menu_purchase_root", "purchase.menu_procurement_management", "purchase.menu_purchase_form_action", "Purchase Orders");
await search(page, "Demo Vendor", 1);
await page.click(".o_data_row td[name=name]");
await page.click("button[name=action_cancel_reconciled]");
await page.waitForSelector(".modal .o_cancel_reconciled_preview li");
await settle(page);
await page.screenshot({ path: `${purchase}/screenshot_purchase_wizard.png` });

await browser.close();
console.log(`Screenshots written to ${sales} and ${purchase}`);

// Screenshots for the Apps page, taken from the demo server (`make demo`, admin / admin):
// the wizard's preview and the log it leaves, and the addon's page in Apps (docs/apps_page.png).
// Usage: npm install && [SERIES=19.0] node take.mjs [URL] [ORDER SEARCH]. Needs Debian's chromium.
// SERIES (default 18.0) is the Odoo series the server runs: it picks the addon's folder the shots
// go to (the repository root for 18.0, 19.0/ for 19.0), e.g.
// SERIES=19.0 node take.mjs http://localhost:8072 for a 19.0 demo served on port 8072.
import os from "node:os";
import { chromium } from "playwright-core";

const base = process.argv[2] || "http://localhost:8069";
const orderSearch = process.argv[3] || "paid and delivered";
const series = process.env.SERIES || "18.0";
// The 18.0 addons are at the repository root, the other series' in a folder named after them.
const seriesRoots = { "18.0": "../../", "19.0": "../../19.0/" };
if (!seriesRoots[series]) {
    throw new Error(`Unknown SERIES ${series}: expected one of ${Object.keys(seriesRoots).join(", ")}.`);
}
const out = new URL(`${seriesRoots[series]}order_cancel_reconciled/static/description/`, import.meta.url).pathname;
// docs/ describes the root (18.0) tree: on another series the Apps page is still walked, but its
// shot goes to the temporary folder rather than over the 18.0 one.
const appsPage =
    series === "18.0"
        ? new URL("../../docs/apps_page.png", import.meta.url).pathname
        : `${os.tmpdir()}/apps_page-${series}.png`;

const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
// Types a search and picks the first field offered ("Search Order for: ..."). Waits for the
// suggestions first: Odoo 19 renders them a moment after the typing, and an Enter pressed before
// reloads the list unfiltered.
async function searchFor(page, text) {
    await page.fill(".o_searchview_input", text);
    await page.locator(".o_searchview_autocomplete", { hasText: text }).waitFor();
    await page.keyboard.press("Enter");
}

const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
await page.goto(`${base}/web/login`);
await page.fill("input[name=login]", "admin");
await page.fill("input[name=password]", "admin");
await Promise.all([page.waitForURL(/\/odoo/), page.click("button[type=submit]")]);

// By the menus, as a user gets there: the apps menu, Sales, Orders > Orders.
await page.click(".o_navbar_apps_menu button");
await page.click(".o_app[data-menu-xmlid='sale.sale_menu_root']");
await page.click(".o_menu_sections [data-menu-xmlid='sale.sale_order_menu']");
await page.click(".o-dropdown-item[data-menu-xmlid='sale.menu_sale_order']");
await page.waitForSelector(".o_list_view");
// The order search also looks in the customer reference, where the demo names its scenarios.
await searchFor(page, orderSearch);
await page.waitForTimeout(1000);
await page.click(".o_data_row td[name=name]");
await page.click("button[name=action_cancel_reconciled]");
await page.waitForSelector(".modal .o_cancel_reconciled_preview li");
await page.click(".modal .o_field_widget[name=stock_action] input[data-value=return_validate]");
await page.click(".modal .o_field_widget[name=payment_action] input[data-value=refund]");
await page.waitForSelector(".modal .o_cancel_reconciled_preview:has-text('refunded to the customer')");
// The dialog asks why: the first reason offered.
await page.click(".modal .o_field_widget[name=reason_id] input");
await page.click(".modal .o_field_widget[name=reason_id] .o-autocomplete--dropdown-item >> nth=0");
await page.waitForTimeout(500);
await page.screenshot({ path: `${out}/screenshot_wizard.png` });
await page.click(".modal button[name=action_confirm]");
await page.locator(".modal .modal-footer button.btn-primary:visible", { hasText: "Cancel the orders" }).click();
await page.waitForSelector(".o_form_view .o_field_widget[name=name]:has-text('Cancellation of')");
await page.waitForTimeout(500);
await page.screenshot({ path: `${out}/screenshot_log.png` });

// The addon's page in Apps, as an administrator sees it before installing.
await page.goto(`${base}/odoo/action-base.open_module_tree`);
await page.waitForSelector(".o_kanban_record");
// An addon, not an app: drop the default "Apps" filter as an administrator does.
await page.click(".o_searchview_facet .o_facet_remove");
await searchFor(page, "Cancel Reconciled");
await page.waitForTimeout(1500);
const card = page.locator(".o_kanban_record", { hasText: "Cancel Reconciled Sale Orders" }).first();
await card.hover();
await card.locator(".dropdown-toggle, .o-dropdown, [title='Dropdown menu']").first().click();
await page.locator(".dropdown-item, .o-dropdown-item", { hasText: "Module Info" }).first().click();
await page.waitForSelector(".o_form_view");
await page.waitForTimeout(2000);
await page.screenshot({ path: appsPage, fullPage: true });
await browser.close();
console.log(`Screenshots written to ${out} and ${appsPage}`);

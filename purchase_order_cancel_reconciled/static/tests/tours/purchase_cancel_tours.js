/** @odoo-module **/

import { registry } from "@web/core/registry";
import { pickFirstReason } from "@order_cancel_reconciled/../tests/tours/tour_steps";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const VENDOR = "Tour Paid Vendor";

// A buyer's way to the paid order: the Purchase app, Orders > Purchase Orders, the vendor's row.
function openPaidPurchaseOrder() {
    return [
        ...stepUtils.goToAppSteps("purchase.menu_purchase_root", "Open the Purchase app"),
        {
            content: "Orders section",
            trigger: ".o_menu_sections [data-menu-xmlid='purchase.menu_procurement_management']",
            run: "click",
        },
        {
            content: "Purchase Orders",
            trigger: ".o-dropdown-item[data-menu-xmlid='purchase.menu_purchase_form_action']",
            run: "click",
        },
        {
            content: "Open the vendor's paid order",
            trigger: `.o_list_view .o_data_row:contains("${VENDOR}") td[name="name"]`,
            run: "click",
        },
        {
            content: "The order is confirmed",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value='purchase']",
        },
    ];
}

registry.category("web_tour.tours").add("purchase_order_cancel_reconciled_member", {
    url: "/odoo",
    steps: () => [
        ...openPaidPurchaseOrder(),
        {
            content: "A member sees the Cancel Reconciled Order button too",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_cancel_reconciled']:contains(Cancel Reconciled Order)",
        },
        {
            content: "Click Odoo's own Cancel: a member is led to the full cancellation",
            trigger: ".o_form_view .o_statusbar_buttons button[name='button_cancel']",
            run: "click",
        },
        {
            content: "The preview tells what will happen to the payment and the bill",
            trigger:
                ".modal .o_cancel_reconciled_preview:contains(Unreconcile):contains(reversed by a credit note dated):contains(kept as vendor credit)",
        },
        {
            content: "Get refunded by the vendor",
            trigger: ".modal .o_field_widget[name='payment_action'] input[data-value='refund']",
            run: "click",
        },
        {
            content: "The preview follows the option",
            trigger: ".modal .o_cancel_reconciled_preview .o_preview_payment:contains(refunded by the vendor)",
        },
        {
            content: "Return the goods to the vendor now",
            trigger: ".modal .o_field_widget[name='stock_action'] input[data-value='return_validate']",
            run: "click",
        },
        {
            content: "The preview shows the return",
            trigger: ".modal .o_cancel_reconciled_preview .o_preview_picking",
        },
        ...pickFirstReason(),
        {
            content: "Cancel the orders",
            trigger: ".modal .modal-footer button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The second question says what each button does",
            trigger:
                ".modal .modal-footer:has(button.btn-primary:contains(Cancel the orders)):has(button:contains(Keep them))",
        },
        {
            content: "Confirm once more",
            trigger: ".modal .modal-footer button.btn-primary:contains(Cancel the orders)",
            run: "click",
        },
        {
            content: "The log of the cancellation opens",
            trigger: ".o_form_view .o_field_widget[name='name']:contains(Cancellation of)",
        },
        {
            content: "It is the log of a purchase order",
            trigger: ".o_form_view .o_field_widget[name='purchase_order_id']:contains(/P\\d+/)",
        },
        {
            content: "It records the refund",
            trigger: ".o_form_view .o_field_widget[name='payment_action']:contains(Refund)",
        },
    ],
});

registry.category("web_tour.tours").add("purchase_order_cancel_reconciled_non_member", {
    url: "/odoo",
    steps: () => [
        ...openPaidPurchaseOrder(),
        {
            content: "No Cancel Reconciled Order button for a non-member",
            trigger:
                ".o_form_view .o_statusbar_buttons:has(button[name='button_cancel']):not(:has(button[name='action_cancel_reconciled']))",
        },
        {
            content: "Try Odoo's own Cancel",
            trigger: ".o_form_view .o_statusbar_buttons button[name='button_cancel']",
            run: "click",
        },
        {
            content: "A message says only members can do it, and who to ask",
            trigger:
                ".modal:contains(/Only members of .Cancel reconciled purchase orders. can do this/):contains(/Who to ask: .*Tour Buyer Member/)",
        },
        {
            content: "Close the message",
            trigger: ".modal .modal-footer button.btn-primary",
            run: "click",
        },
        {
            content: "The order is still confirmed",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value='purchase']",
        },
    ],
});

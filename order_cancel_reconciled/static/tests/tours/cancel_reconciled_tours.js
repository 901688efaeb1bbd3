/** @odoo-module **/

import { registry } from "@web/core/registry";
import { pickFirstReason } from "./tour_steps";

const CUSTOMER = "Tour Paid Customer";

function openPaidOrder() {
    return [
        {
            content: "Open the search options",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Keep the paid orders",
            trigger: ".o_filter_menu .dropdown-item:contains(/^Paid$/)",
            run: "click",
        },
        {
            content: "The unpaid order is filtered out",
            trigger: `.o_list_view .o_data_row:contains("${CUSTOMER}"):not(:has(:contains("Tour Unpaid Customer")))`,
        },
        {
            content: "Open the paid order",
            trigger: `.o_data_row:contains("${CUSTOMER}") td[name="name"]`,
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("order_cancel_reconciled_member", {
    url: "/odoo/action-sale.action_orders",
    steps: () => [
        ...openPaidOrder(),
        {
            content: "Cancel the paid order with our wizard",
            trigger: ".o_form_view button[name='action_cancel_reconciled']",
            run: "click",
        },
        {
            content: "The preview tells what will happen",
            trigger: ".modal .o_cancel_reconciled_preview:contains(Unreconcile):contains(reversed by a credit note dated)",
        },
        {
            content: "Refund the customer",
            trigger: ".modal .o_field_widget[name='payment_action'] input[data-value='refund']",
            run: "click",
        },
        {
            content: "The preview follows the option",
            trigger: ".modal .o_cancel_reconciled_preview:contains(refunded to the customer)",
        },
        ...pickFirstReason(),
        {
            content: "Confirm",
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The second question says what each button does",
            trigger: ".modal .modal-footer:has(button.btn-primary:contains(Cancel the orders)):has(button:contains(Keep them))",
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
            content: "It records the refund",
            trigger: ".o_form_view .o_field_widget[name='payment_action']:contains(Refund the customer)",
        },
        {
            content: "Back to the order",
            trigger: ".o_breadcrumb .breadcrumb-item:last-child a",
            run: "click",
        },
        {
            content: "The order is cancelled",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Cancelled)",
        },
    ],
});

registry.category("web_tour.tours").add("order_cancel_reconciled_non_member", {
    url: "/odoo/action-sale.action_orders",
    steps: () => [
        ...openPaidOrder(),
        {
            content: "No cancellation button for a non-member",
            trigger: ".o_form_view .o_statusbar_buttons:not(:has(button[name='action_cancel_reconciled']))",
        },
        {
            content: "Try the standard Cancel",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_cancel']",
            run: "click",
        },
        {
            content: "A message says who can do it, without Odoo's question first",
            trigger: ".modal:contains(Only members of)",
        },
    ],
});

// Cancel on a paid order opens the preview at once, whose confirmation is the question (Odoo 19's
// own "Are you sure?" is left out there; Odoo 18's Cancel asks none): no question before the questions.
registry.category("web_tour.tours").add("order_cancel_reconciled_cancel_button", {
    url: "/odoo/action-sale.action_orders",
    steps: () => [
        ...openPaidOrder(),
        {
            content: "The standard Cancel",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_cancel']",
            run: "click",
        },
        {
            content: "The preview opens at once and says why",
            trigger: ".modal .o_cancel_reconciled_why",
        },
        {
            content: "The preview tells what will happen",
            trigger: ".modal .o_cancel_reconciled_preview:contains(Unreconcile)",
        },
        {
            content: "Leave without cancelling",
            trigger: ".modal .btn-close",
            run: "click",
        },
        {
            content: "Back on the order, not cancelled: its Cancel is still offered",
            trigger: "body:not(:has(.modal)) .o_form_view .o_statusbar_buttons button[name='action_cancel']",
        },
    ],
});

registry.category("web_tour.tours").add("order_cancel_reconciled_batch_confirm", {
    url: "/odoo/action-sale.action_orders",
    steps: () => [
        {
            content: "Select every order of the batch's customer",
            trigger: ".o_list_view .o_data_row:contains('Tour Batch Customer') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "And the second one",
            trigger:
                ".o_list_view .o_data_row:contains('Tour Batch Customer'):not(:has(.o_list_record_selector input:checked)) .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Open the Actions menu",
            trigger: ".o_control_panel .o_cp_action_menus button:has(.fa-cog)",
            run: "click",
        },
        {
            content: "Cancel Reconciled Orders",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains(Cancel Reconciled Orders)",
            run: "click",
        },
        {
            content: "More orders than the threshold: they go to the background",
            trigger: ".modal .o_preview_background",
        },
        ...pickFirstReason(),
        {
            content: "Confirm",
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            content: "Confirm once more",
            trigger: ".modal .modal-footer button.btn-primary:contains(Cancel the orders)",
            run: "click",
        },
        {
            content: "The batch opens",
            trigger: ".o_form_view .o_field_widget[name='progress']",
        },
        {
            content: "No dialog is left over the batch",
            trigger: "body:not(:has(.modal))",
        },
    ],
});

/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// The customer, on the portal page of their paid order, asks to cancel it.
registry.category("web_tour.tours").add("order_cancel_reconciled_portal_request", {
    steps: () => [
        {
            content: "Ask to cancel the order",
            trigger: "a.o_cancel_request_button",
            run: "click",
        },
        {
            content: "Pick a reason offered to customers",
            trigger: "#modal_cancel_request select[name='reason_id']",
            run: "selectByLabel Order entered by mistake",
        },
        {
            content: "Say why",
            trigger: "#modal_cancel_request textarea[name='comment']",
            run: "edit Ordered twice by mistake",
        },
        {
            content: "Send the request",
            trigger: "#modal_cancel_request button.o_cancel_request_submit",
            run: "click",
            // The page is left (Odoo 19 tours stop on an unload they were not told of).
            expectUnloadPage: true,
        },
        {
            content: "The page says the cancellation is requested",
            trigger: ".o_cancel_request_state:contains(Cancellation requested)",
        },
        {
            content: "And no second request can be sent",
            trigger: "#sale_order_sidebar_button:not(:has(.o_cancel_request_button))",
        },
    ],
});

// A member finds the request by the menus, approves it and confirms the cancellation.
registry.category("web_tour.tours").add("order_cancel_reconciled_member_approves_request", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("sale.sale_menu_root", "Open the Sales app"),
        {
            content: "Orders section",
            trigger: ".o_menu_sections [data-menu-xmlid='sale.sale_order_menu']",
            run: "click",
        },
        {
            content: "Cancellation Requests",
            trigger: ".o-dropdown-item[data-menu-xmlid='order_cancel_reconciled.sale_order_cancel_reconciled_request_menu']",
            run: "click",
        },
        {
            content: "Open the customer's request",
            trigger: ".o_data_row:contains('Tour Portal Customer') td[name='order_id']",
            run: "click",
        },
        {
            content: "The customer's comment is there",
            trigger: ".o_form_view .o_field_widget[name='comment']:contains(Ordered twice by mistake)",
        },
        {
            content: "Approve and cancel the order",
            trigger: ".o_form_view button[name='action_approve']",
            run: "click",
        },
        {
            content: "The dialog carries the customer's reason",
            trigger: ".modal .o_field_widget[name='reason_id'] input:value(Order entered by mistake)",
        },
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
            content: "The log of the cancellation opens",
            trigger: ".o_form_view .o_field_widget[name='name']:contains(Cancellation of)",
        },
    ],
});

// Back on the portal, the customer sees the order cancelled at their request.
registry.category("web_tour.tours").add("order_cancel_reconciled_portal_sees_cancelled", {
    steps: () => [
        {
            content: "The order is cancelled at the customer's request",
            trigger: ".o_cancel_request_done:contains(Cancelled at your request)",
        },
    ],
});

// The same request by a customer who reads the portal in Simplified Chinese.
registry.category("web_tour.tours").add("order_cancel_reconciled_portal_request_zh_cn", {
    steps: () => [
        {
            content: "The button is in Chinese",
            trigger: "a.o_cancel_request_button:contains(申请取消)",
            run: "click",
        },
        {
            content: "The reasons are in Chinese",
            trigger: "#modal_cancel_request select[name='reason_id']:has(option:contains(订单录入错误))",
            run: "selectByLabel 订单录入错误",
        },
        {
            content: "Send the request, in Chinese",
            trigger: "#modal_cancel_request button.o_cancel_request_submit:contains(提交申请)",
            run: "click",
            // The page is left (Odoo 19 tours stop on an unload they were not told of).
            expectUnloadPage: true,
        },
        {
            content: "The page says, in Chinese, that the cancellation is requested",
            trigger: ".o_cancel_request_state:contains(取消申请提交于)",
        },
    ],
});

// The customer finds their paid order in Your Orders and asks to cancel it. Steps select by
// CSS classes only: the same tour runs in every language.
registry.category("web_tour.tours").add("order_cancel_reconciled_portal_request_from_orders", {
    steps: () => [
        {
            content: "Open the order from Your Orders",
            trigger: ".o_portal_my_doc_table tbody tr:not(:has(.o_cancel_reconciled_order_cancelled)) a[href^='/my/orders/']",
            run: "click",
            // The page is left (Odoo 19 tours stop on an unload they were not told of).
            expectUnloadPage: true,
        },
        {
            content: "Ask to cancel the order",
            trigger: "a.o_cancel_request_button",
            run: "click",
        },
        {
            content: "A reason offered to customers is chosen",
            trigger: "#modal_cancel_request select[name='reason_id']:has(option:checked)",
        },
        {
            content: "Say why",
            trigger: "#modal_cancel_request textarea[name='comment']",
            run: "edit Ordered twice by mistake",
        },
        {
            content: "Send the request",
            trigger: "#modal_cancel_request button.o_cancel_request_submit",
            run: "click",
            // The page is left (Odoo 19 tours stop on an unload they were not told of).
            expectUnloadPage: true,
        },
        {
            content: "The page says the cancellation is requested",
            trigger: ".o_cancel_request_state",
        },
    ],
});

function seesCancelledOrderSteps(refundState) {
    return [
        {
            content: "The order is listed in Your Orders, marked cancelled",
            trigger: ".o_portal_my_doc_table tbody tr:has(.o_cancel_reconciled_order_cancelled) a[href^='/my/orders/']",
            run: "click",
            // The page is left (Odoo 19 tours stop on an unload they were not told of).
            expectUnloadPage: true,
        },
        {
            content: "Its page is headed as a cancelled order, not as a cancelled quotation",
            trigger: "#introduction:has(.o_cancel_reconciled_order_cancelled)",
        },
        {
            content: "It was cancelled at the customer's request",
            trigger: ".o_cancel_reconciled_summary .o_cancel_request_done",
        },
        {
            content: "What became of the money, and where the refund is",
            trigger: `.o_cancel_reconciled_summary .o_cancel_reconciled_money_refund_${refundState}`,
        },
        {
            content: "Odoo's banner of a cancelled quotation is not shown",
            trigger: "#quote_content:not(:has(> .alert-danger a[href='#discussion']))",
        },
    ];
}

// Back in Your Orders once the order is cancelled: the refund is sent, the provider has not
// confirmed it yet.
registry.category("web_tour.tours").add("order_cancel_reconciled_portal_sees_refund_sent", {
    steps: () => seesCancelledOrderSteps("sent"),
});

// Once the provider has confirmed the refund.
registry.category("web_tour.tours").add("order_cancel_reconciled_portal_sees_refund_confirmed", {
    steps: () => seesCancelledOrderSteps("confirmed"),
});

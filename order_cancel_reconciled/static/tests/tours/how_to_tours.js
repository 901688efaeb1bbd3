/** @odoo-module **/

import { registry } from "@web/core/registry";
import { pickFirstReason } from "./tour_steps";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// Our users' how-to, in Simplified Chinese, by the menus only: Sales > Orders > Orders, filter
// Reconciled, open the order, cancel it with its payments and goods, confirm, see it cancelled.
// Selectors name menus, fields and values, never English words.
registry.category("web_tour.tours").add("order_cancel_reconciled_how_to_zh_cn", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("sale.sale_menu_root", "打开销售应用"),
        {
            content: "Orders section",
            trigger: ".o_menu_sections [data-menu-xmlid='sale.sale_order_menu']",
            run: "click",
        },
        {
            content: "Orders",
            trigger: ".o-dropdown-item[data-menu-xmlid='sale.menu_sale_order']",
            run: "click",
        },
        {
            content: "Open the search options",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Filter Reconciled, in Chinese",
            trigger: ".o_filter_menu .dropdown-item:contains(/^已核销$/)",
            run: "click",
        },
        {
            content: "Open the paid order",
            trigger: ".o_data_row:contains('Tour Paid Customer') td[name='name']",
            run: "click",
        },
        {
            content: "Cancel it with its payments, in Chinese",
            trigger: ".o_form_view button[name='action_cancel_reconciled']:contains(取消已付款订单)",
            run: "click",
        },
        {
            content: "Return the goods now",
            trigger: ".modal .o_field_widget[name='stock_action'] input[data-value='return_validate']",
            run: "click",
        },
        {
            content: "The preview follows",
            trigger: ".modal .o_cancel_reconciled_preview .o_preview_picking",
        },
        ...pickFirstReason(),
        {
            content: "Confirm",
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The second question's buttons say what they do, in Chinese",
            trigger: ".modal .modal-footer:has(button:contains(暂不取消)) button.btn-primary:contains(取消这些订单)",
            run: "click",
        },
        {
            content: "The log opens, titled in Chinese",
            trigger: ".o_form_view .o_field_widget[name='name']:contains(的取消记录)",
        },
        {
            content: "Back to the order",
            trigger: ".o_breadcrumb .breadcrumb-item:last-child a",
            run: "click",
        },
        {
            content: "The order is cancelled",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value='cancel']",
        },
    ],
});

// An administrator grants the right from the user form, without developer mode.
registry.category("web_tour.tours").add("order_cancel_reconciled_grant_right", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("base.menu_administration", "Settings"),
        {
            content: "Users & Companies",
            trigger: ".o_menu_sections [data-menu-xmlid='base.menu_users']",
            run: "click",
        },
        {
            content: "Users",
            trigger: ".o-dropdown-item[data-menu-xmlid='base.menu_action_res_users']",
            run: "click",
        },
        {
            content: "Open the salesperson",
            trigger: ".o_data_row:contains('tour_salesman') td.o_data_cell",
            run: "click",
        },
        {
            content: "The right is a named choice of the Sales section",
            trigger: ".o_form_view .o_wrap_field:has(.o_form_label:contains(Cancel Paid Orders)) select",
        },
    ],
});

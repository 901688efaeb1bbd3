/** @odoo-module **/

// Steps the tours of both addons share.

/** The cancellation dialog asks why: the first reason offered (not the dropdown's loading line). */
export function pickFirstReason() {
    return [
        {
            content: "Say why: the dialog asks for a reason",
            trigger: ".modal .o_field_widget[name='reason_id'] input",
            run: "click",
        },
        {
            content: "Pick the first reason offered",
            trigger: ".modal .o_field_widget[name='reason_id'] .o-autocomplete--dropdown-item:first-child a:not(.o_loading)",
            run: "click",
        },
    ];
}

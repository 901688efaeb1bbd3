{
    "name": "Cancel Reconciled Sale Orders",
    "summary": "Cancel a paid, delivered order in one safe step: unreconcile, "
    "reverse, refund, return and cancel, with an audit log",
    "version": "19.0.1.3.0",
    "license": "LGPL-3",
    "author": "order_cancel_reconciled developers",
    "website": "https://github.com/order-cancel-reconciled/order_cancel_reconciled",
    "category": "Sales",
    # sale_management brings the Sales app itself: its home menu entry and its Settings tab.
    "depends": ["sale_management", "sale_stock", "account", "account_payment", "portal"],
    "data": [
        "security/order_cancel_reconciled_security.xml",
        "security/ir.model.access.csv",
        "security/order_cancel_reconciled_rules.xml",
        "data/sale_order_cancel_reconciled_reason_data.xml",
        "data/mail_template_data.xml",
        "data/ir_cron_data.xml",
        "data/mail_activity_type_data.xml",
        "report/sale_order_cancel_reconciled_log_report.xml",
        "wizards/sale_order_cancel_reconciled_views.xml",
        "views/sale_order_cancel_reconciled_log_views.xml",
        "views/sale_order_cancel_reconciled_reason_views.xml",
        "views/sale_order_views.xml",
        "views/sale_order_cancel_reconciled_request_views.xml",
        "views/sale_order_cancel_reconciled_batch_views.xml",
        "views/sale_portal_templates.xml",
        "views/account_portal_templates.xml",
        "views/account_move_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
        "report/sale_order_cancel_reconciled_analysis_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "order_cancel_reconciled/static/src/batch_progress/*",
        ],
        "web.assets_unit_tests": [
            "order_cancel_reconciled/static/tests/unit/**/*",
        ],
        "web.assets_tests": [
            "order_cancel_reconciled/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": False,
}

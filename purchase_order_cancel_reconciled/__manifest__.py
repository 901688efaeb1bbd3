{
    "name": "Cancel Reconciled Purchase Orders",
    "summary": "Cancel a received, billed and paid purchase order in one safe step: unreconcile, "
    "reverse, get refunded, return to the vendor and cancel, with an audit log",
    "version": "18.0.1.1.1",
    "license": "LGPL-3",
    "author": "order_cancel_reconciled developers",
    "website": "https://github.com/order-cancel-reconciled/order_cancel_reconciled",
    "category": "Inventory/Purchase",
    # A separate addon, so that databases that only sell do not get the Purchase app.
    "depends": ["order_cancel_reconciled", "purchase_stock"],
    "data": [
        "security/purchase_order_cancel_reconciled_security.xml",
        "security/ir.model.access.csv",
        "security/purchase_order_cancel_reconciled_rules.xml",
        "wizards/purchase_order_cancel_reconciled_views.xml",
        "views/purchase_order_views.xml",
        "views/sale_order_cancel_reconciled_log_views.xml",
        "views/menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "purchase_order_cancel_reconciled/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": False,
}

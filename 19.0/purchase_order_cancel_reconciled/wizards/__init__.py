from . import purchase_order_cancel_reconciled

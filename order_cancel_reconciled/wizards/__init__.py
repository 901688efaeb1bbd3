from . import sale_order_cancel_reconciled

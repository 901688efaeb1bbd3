from . import purchase_order
from . import sale_order_cancel_reconciled_log
from . import stock_picking

from . import sale_order_cancel_reconciled_reason
from . import sale_order_cancel_reconciled_log
from . import sale_order
